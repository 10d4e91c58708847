import { describe, expect, it } from 'vitest';
import * as binaries from '../../src/backend/heapKernelsBinary.js';
import { heapKernelsRelaxed } from '../../src/backend/heapKernels.js';
import { wasmApi } from '../../src/linalg/wasmApi.js';
import { SIMD_KERNELS_BASE64 } from '../../src/linalg/simdKernelsBinary.js';
import { assembleKernels, HEAP_VARIANTS, unfusedMultiplyAdds } from '../../scripts/assembleKernels.js';
import { normalInputs } from '../nn/helpers.js';

describe('the WebAssembly kernel binaries (run `npm run assemble-kernels` after editing a .wat file)', () => {
  it('are what wabt assembles from simdKernels.wat and heapKernels/*.wat (memory shared or not, relaxed SIMD or not)', async () => {
    expect(Buffer.from(await assembleKernels('linalg/simdKernels.wat')).equals(Buffer.from(SIMD_KERNELS_BASE64, 'base64'))).toBe(true);
    for (const [name, shared, relaxed] of HEAP_VARIANTS) {
      const assembled = Buffer.from(await assembleKernels('backend/heapKernels', shared, relaxed));
      expect(assembled.equals(Buffer.from((binaries as Record<string, string>)[name]!, 'base64')), name).toBe(true);
    }
  });

  it('spell a fused multiply-add as a multiply and an add for engines without relaxed SIMD', () => {
    expect(unfusedMultiplyAdds('(local.set $c (f32x4.relaxed_madd (local.get $a) (v128.load (i32.add (local.get $p) (i32.const 4))) (local.get $c)))')).toBe(
      '(local.set $c (f32x4.add (local.get $c) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $p) (i32.const 4))))))',
    );
    expect(() => unfusedMultiplyAdds('(f32x4.relaxed_madd (local.get $a) (local.get $b))')).toThrow(/three operands|parenthesised/);
  });

  it('compute the same products with and without relaxed SIMD, to the rounding of a fused multiply-add', () => {
    expect(heapKernelsRelaxed()).toBe(true); // Node 20 and later on x86-64 and arm64 have it (behind a flag in 20)
    const [m, k, n] = [37, 300, 45];
    const a = normalInputs(m, k, 1);
    const b = normalInputs(k, n, 2);
    const products = [binaries.HEAP_KERNELS_BASE64, binaries.HEAP_KERNELS_RELAXED_BASE64].map((base64) => {
      const memory = new wasmApi.Memory({ initial: 64 });
      const kernels = new wasmApi.Instance(new wasmApi.Module(Buffer.from(base64, 'base64')), { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
      const f32 = new Float32Array(memory.buffer);
      const [pa, pb, pc, counter, work] = [1024, 1024 + 4 * m * k, 1024 + 4 * (m * k + k * n), 1024 + 4 * (m * k + k * n + m * n), 2048 + 4 * (m * k + k * n + m * n)];
      f32.set(a, pa / 4);
      f32.set(b, pb / 4);
      kernels.gemm!(pa, k, 1, pb, n, 1, pc, n, m, k, n, 8 * Math.ceil(n / 8), counter, 0, 0, work);
      return f32.slice(pc / 4, pc / 4 + m * n);
    });
    let largest = 0;
    let difference = 0;
    for (let i = 0; i < m * n; i++) {
      largest = Math.max(largest, Math.abs(products[0]![i]!));
      difference = Math.max(difference, Math.abs(products[0]![i]! - products[1]![i]!));
    }
    expect(difference).toBeGreaterThan(0); // fused: rounded once per step, not twice
    expect(difference / largest).toBeLessThan(1e-5);
  });
});
