import * as tf from '@tensorflow/tfjs-core';

/**
 * The name under which a backend may register one fused kernel for a variable's whole Adam step
 * (inputs value, m, v, gradient; attrs beta1, beta2, rate, epsilon; outputs [value', m', v']), with
 * the float32 operations of {@link adamStep}'s tf ops in their order, so either gives the same bits:
 * the backend layer does for wasm (src/backend/wasmAdam.ts). Elsewhere the step is twelve tf ops.
 */
export const ADAM_KERNEL = 'MergeTrainAdam';

/** The constants of one Adam step, the bias corrections already folded into `rate` and `epsilon`. */
export interface AdamConstants {
  beta1: number;
  beta2: number;
  rate: number;
  epsilon: number;
}

/**
 * One variable's Adam step as new tensors [value', m', v'] (the caller owns them):
 * m' = beta1 m + (1 - beta1) g, v' = beta2 v + (1 - beta2) g^2, value' = value - rate m' / (sqrt(v') + epsilon).
 * `fused` (default: whenever the backend registered ADAM_KERNEL) runs it as that one kernel.
 */
export function adamStep(value: tf.Tensor, m: tf.Tensor, v: tf.Tensor, gradient: tf.Tensor, constants: AdamConstants, fused = hasFusedAdam()): tf.Tensor[] {
  const { beta1, beta2, rate, epsilon } = constants;
  if (fused) return tf.engine().runKernel(ADAM_KERNEL, { value, m, v, gradient }, { ...constants }) as tf.Tensor[];
  return tf.tidy(() => {
    const nextM = tf.add(tf.mul(m, beta1), tf.mul(gradient, 1 - beta1));
    const nextV = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gradient), 1 - beta2));
    return [tf.sub(value, tf.div(tf.mul(nextM, rate), tf.add(tf.sqrt(nextV), epsilon))), nextM, nextV];
  });
}

/** Whether the current backend has registered {@link ADAM_KERNEL}. */
export function hasFusedAdam(): boolean {
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * Adam (Kingma & Ba, https://arxiv.org/abs/1412.6980) with its whole state as plain tensors and a
 * step count, so a saved state resumes bit for bit: the bias corrections are computed from the step
 * count in float64, where tfjs's optimizer keeps running float32 products that a restore can only
 * approximate. Where the backend has registered ADAM_KERNEL, each variable's step is that one kernel.
 */
export class Adam {
  /** Updates done so far. */
  step: number;
  readonly moments: Record<string, { m: tf.Variable; v: tf.Variable }>;

  constructor(
    private readonly learningRate: number,
    variables: Record<string, tf.Variable>,
    state?: { step: number; m: Record<string, tf.Tensor>; v: Record<string, tf.Tensor> },
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.step = state?.step ?? 0;
    // A variable shares its initial tensor's data: zeros made here are disposed, a saved state stays its owner's.
    const slot = (saved: tf.Tensor | undefined, like: tf.Tensor): tf.Variable => {
      const initial = saved ?? tf.zerosLike(like);
      const variable = tf.variable(initial, false);
      if (!saved) initial.dispose();
      return variable;
    };
    this.moments = Object.fromEntries(
      Object.entries(variables).map(([name, variable]) => [name, { m: slot(state?.m[name], variable), v: slot(state?.v[name], variable) }]),
    );
  }

  /** One update of `variables` (the ones given to the constructor) from their `gradients`. */
  apply(variables: Record<string, tf.Variable>, gradients: Record<string, tf.Tensor>): void {
    this.step++;
    // The bias corrections folded into the step size and epsilon, as the paper's efficient form does.
    const constants: AdamConstants = {
      beta1: this.beta1,
      beta2: this.beta2,
      rate: (this.learningRate * Math.sqrt(1 - this.beta2 ** this.step)) / (1 - this.beta1 ** this.step),
      epsilon: this.epsilon * Math.sqrt(1 - this.beta2 ** this.step),
    };
    const fused = hasFusedAdam();
    tf.tidy(() => {
      for (const [name, variable] of Object.entries(variables)) {
        const { m, v } = this.moments[name]!;
        const [nextValue, nextM, nextV] = adamStep(variable, m, v, gradients[name]!, constants, fused);
        m.assign(nextM!);
        v.assign(nextV!);
        variable.assign(nextValue!);
      }
    });
  }

  dispose(): void {
    tf.dispose(Object.values(this.moments).flatMap(({ m, v }) => [m, v]));
  }
}
