import * as tf from '@tensorflow/tfjs-core';

/**
 * Adam (Kingma & Ba, https://arxiv.org/abs/1412.6980) with its whole state as plain tensors and a
 * step count, so a saved state resumes bit for bit: the bias corrections are computed from the step
 * count in float64, where tfjs's optimizer keeps running float32 products that a restore can only
 * approximate.
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
    const rate = (this.learningRate * Math.sqrt(1 - this.beta2 ** this.step)) / (1 - this.beta1 ** this.step);
    const epsilon = this.epsilon * Math.sqrt(1 - this.beta2 ** this.step);
    tf.tidy(() => {
      for (const [name, variable] of Object.entries(variables)) {
        const g = gradients[name]!;
        const { m, v } = this.moments[name]!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        variable.assign(tf.sub(variable, tf.div(tf.mul(m, rate), tf.add(tf.sqrt(v), epsilon))));
      }
    });
  }

  dispose(): void {
    tf.dispose(Object.values(this.moments).flatMap(({ m, v }) => [m, v]));
  }
}
