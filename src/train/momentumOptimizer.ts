import * as tf from '@tensorflow/tfjs-core';

/**
 * The name under which a backend may register one fused kernel for a variable's whole step (inputs
 * value, accumulation, gradient; attrs momentum, learningRate; outputs [value', accumulation']):
 * the backend layer does for wasm (src/backend/wasmMomentum.ts). Elsewhere the step is four tf ops.
 */
export const MOMENTUM_KERNEL = 'MergeTrainMomentum';

/** A named tensor as optimizers save their weights (tfjs-core does not export the type). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/**
 * SGD with momentum exactly as tf.train.momentum computes it (acc' = momentum * acc + grad,
 * value' = value - rate * acc', in float32, in that order) and with the same saved weights (the
 * iteration count, then one `<variable>/momentum` slot per variable in update order), so training
 * states of either resume in the other. Where the backend has registered MOMENTUM_KERNEL, each
 * variable's step is that one kernel instead of four ops.
 */
export class MomentumOptimizer extends tf.Optimizer {
  static get className(): string {
    return MOMENTUM_KERNEL;
  }

  private slots: { originalName: string; variable: tf.Variable }[] = [];

  constructor(
    private learningRate: number,
    private readonly momentum: number,
  ) {
    super();
  }

  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries = Array.isArray(variableGradients)
      ? variableGradients.map(({ name, tensor }) => [name, tensor] as const)
      : Object.entries(variableGradients);
    const fused = tf.getKernel(MOMENTUM_KERNEL, tf.getBackend()) !== undefined;
    entries.forEach(([name, gradient], i) => {
      const value = tf.engine().registeredVariables[name]!;
      this.slots[i] ??= { originalName: `${name}/momentum`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const accumulation = this.slots[i].variable;
      if (!gradient) return;
      tf.tidy(() => {
        let next: tf.Tensor[];
        if (fused) {
          const inputs = { value, accumulation, gradient };
          next = tf.engine().runKernel(MOMENTUM_KERNEL, inputs, { momentum: this.momentum, learningRate: this.learningRate }) as tf.Tensor[];
        } else {
          const nextAccumulation = tf.add(tf.mul(tf.scalar(this.momentum), accumulation), gradient);
          next = [tf.add(tf.mul(tf.scalar(-this.learningRate), nextAccumulation), value), nextAccumulation];
        }
        accumulation.assign(next[1]!);
        value.assign(next[0]!);
      });
    });
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [await this.saveIterations(), ...this.slots.map(({ originalName, variable }) => ({ name: originalName, tensor: variable }))];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const slots = await this.extractIterations(weightValues);
    tf.dispose(this.slots.map((s) => s.variable));
    this.slots = slots.map(({ name, tensor }) => ({ originalName: name, variable: tensor.variable(false) }));
  }

  override dispose(): void {
    tf.dispose(this.slots.map((s) => s.variable));
    this.slots = [];
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, momentum: this.momentum };
  }
}
