import * as tf from '@tensorflow/tfjs-core';
import { wasmConv2DBackpropFilterConfig } from './wasmConv2DBackpropFilter.js';
import { wasmConv2DBackpropInputConfig } from './wasmConv2DBackpropInput.js';
import { wasmGatherRowsConfig } from './wasmGatherRows.js';
import { wasmMatMulConfigs } from './wasmMatMul.js';
import { wasmMaxPoolGradConfig } from './wasmMaxPoolGrad.js';
import { wasmMomentumConfig } from './wasmMomentum.js';
import { wasmReluConfig } from './wasmRelu.js';
import { wasmRowVectorOpConfigs } from './wasmRowVectorOps.js';
import { wasmShareDataConfigs } from './wasmShareData.js';
import { wasmSumColumnsConfig } from './wasmSumColumns.js';
import { wasmTransposeConfig } from './wasmTranspose.js';

let installed = false;

/**
 * Installs merge-train's own 'wasm' kernels (the tfjs 4.22 wasm backend lacks one that training needs
 * and has slow ones): BatchMatMul and _FusedMatMul as merge-train's gemm on the backend's heap and
 * threads (wasmMatMul.ts: no repacking of new weights, no slow transposed operands);
 * Conv2DBackpropFilter (missing: no conv net could be trained) as the same gemm over x's patches;
 * Conv2DBackpropInput (present but ~10x slower than Conv2D) composed from fast wasm kernels; GatherV2
 * of whole rows (slow: one index per element) as row copies on the heap; and, as kernels in the
 * backend's own memory (heapKernels.wat), Transpose of the last two axes, Sum and Mean over leading
 * axes, the max-pool gradient, the SGD momentum step, Add, Sub and Multiply of a per-channel vector,
 * and Relu; Identity and same-dtype Cast share their input's data instead of copying it. Only the 'wasm' registrations are touched; tfjs-node and cpu keep their kernels.
 * Idempotent.
 */
export function installWasmFastPaths(): void {
  if (installed) return;
  installed = true;
  for (const config of wasmMatMulConfigs()) replaceKernel(config);
  replaceKernel(wasmConv2DBackpropFilterConfig());
  replaceKernel(wasmConv2DBackpropInputConfig());
  replaceKernel(wasmGatherRowsConfig());
  replaceKernel(wasmTransposeConfig());
  replaceKernel(wasmSumColumnsConfig('Sum'));
  replaceKernel(wasmSumColumnsConfig('Mean'));
  replaceKernel(wasmMaxPoolGradConfig());
  replaceKernel(wasmMomentumConfig());
  for (const config of wasmRowVectorOpConfigs()) replaceKernel(config);
  replaceKernel(wasmReluConfig());
  for (const config of wasmShareDataConfigs()) replaceKernel(config);
}

/** Registers `config`, in place of the backend's own kernel of that name if there is one. */
function replaceKernel(config: tf.KernelConfig | undefined): void {
  if (!config) return; // a kernel it is composed from is missing: keep what the backend has
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}
