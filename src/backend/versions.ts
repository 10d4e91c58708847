import { createRequire } from 'node:module';
import { wasmKernelsState } from './selectBackend.js';

const require = createRequire(import.meta.url);

/** merge-train's own version: package.json sits two folders above both src/backend and dist/backend. */
function ownVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Versions that make a result reproducible: merge-train, TensorFlow.js and the backend's package. */
export function versions(backend: string): Record<string, string> {
  const backendPackage =
    backend === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : backend === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : '@tensorflow/tfjs-node';
  return {
    'merge-train': ownVersion(),
    '@tensorflow/tfjs-core': packageVersion('@tensorflow/tfjs-core'),
    [backendPackage]: packageVersion(backendPackage),
    ...(backend === 'wasm' ? { 'merge-train wasm kernels': wasmKernelsState() } : {}),
    node: process.versions.node,
  };
}
