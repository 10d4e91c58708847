import { describe, expect, it } from 'vitest';
import { HEAP_KERNELS_BASE64, HEAP_KERNELS_SHARED_BASE64 } from '../../src/backend/heapKernelsBinary.js';
import { SIMD_KERNELS_BASE64 } from '../../src/linalg/simdKernelsBinary.js';
import { assembleKernels } from '../../scripts/assembleKernels.js';

describe('the WebAssembly kernel binaries (run `npm run assemble-kernels` after editing a .wat file)', () => {
  it('are what wabt assembles from simdKernels.wat and heapKernels/*.wat (unshared and shared memory)', async () => {
    const cases: [string, boolean, string][] = [
      ['linalg/simdKernels.wat', false, SIMD_KERNELS_BASE64],
      ['backend/heapKernels', false, HEAP_KERNELS_BASE64],
      ['backend/heapKernels', true, HEAP_KERNELS_SHARED_BASE64],
    ];
    for (const [wat, shared, base64] of cases) {
      const assembled = Buffer.from(await assembleKernels(wat, shared));
      expect(assembled.equals(Buffer.from(base64, 'base64')), `${wat}${shared ? ' (shared)' : ''}`).toBe(true);
    }
  });
});
