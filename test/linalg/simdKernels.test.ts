import { describe, expect, it } from 'vitest';
import { SIMD_KERNELS_BASE64 } from '../../src/linalg/simdKernelsBinary.js';
import { assembleKernels } from '../../scripts/assembleKernels.js';

describe('the SIMD kernels binary', () => {
  it('is what wabt assembles from simdKernels.wat (run `npm run assemble-kernels` after editing it)', async () => {
    const assembled = Buffer.from(await assembleKernels());
    expect(assembled.equals(Buffer.from(SIMD_KERNELS_BASE64, 'base64'))).toBe(true);
  });
});
