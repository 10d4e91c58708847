import * as tf from '@tensorflow/tfjs-core';

/**
 * Floating-point operations of the products a function runs, counted from the kernels it calls
 * (tf.profile): matrix products and convolutions, forward and backward, each 2 FLOPs per
 * multiply-add. Elementwise work is not counted, so FLOP/s figures are "useful" FLOP/s, comparable
 * with a matMul's.
 */
export async function productFlops(work: () => void): Promise<number> {
  const profile = await tf.profile(work);
  let flops = 0;
  for (const kernel of profile.kernels) {
    const inputs = kernel.inputShapes.map((shape) => shape ?? []);
    const outputSize = sizeOf(kernel.outputShapes[0] ?? []);
    flops += 2 * outputSize * contractedLength(kernel.name, inputs, kernel.outputShapes[0] ?? []);
  }
  return flops;
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Multiply-adds per output element of a product kernel; 0 for every other kernel. */
function contractedLength(name: string, inputs: number[][], output: number[]): number {
  switch (name) {
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // a holds batch x m x k values, output batch x m x n: k = size(a) / (batch x m).
      const rows = sizeOf(output.slice(0, -1));
      return sizeOf(inputs[0]!) / rows;
    }
    case 'Conv2D':
    case 'FusedConv2D':
    case 'DepthwiseConv2dNative': {
      const [kh, kw, cin] = inputs[1]!;
      return name === 'DepthwiseConv2dNative' ? kh! * kw! : kh! * kw! * cin!;
    }
    case 'Conv2DBackpropInput': {
      // Inputs (dy, filter): each of dy's values meets kh x kw x cin filter taps, so count per dy value.
      const [kh, kw, cin] = inputs[1]!;
      return (sizeOf(inputs[0]!) * kh! * kw! * cin!) / sizeOf(output);
    }
    case 'Conv2DBackpropFilter': {
      // Inputs (x, dy), output the filter: each dy value meets kh x kw x cin taps.
      const [kh, kw, cin] = output;
      return (sizeOf(inputs[1]!) * kh! * kw! * cin!) / sizeOf(output);
    }
    default:
      return 0;
  }
}
