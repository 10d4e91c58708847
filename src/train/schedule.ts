/** How the learning rate changes over training, after an optional linear warm-up. */
export type ScheduleKind = 'constant' | 'cosine' | 'linear';

export interface ScheduleOptions {
  learningRate: number;
  schedule: ScheduleKind;
  /** Epochs of linear warm-up from learningRate / stepsPerWarmup to learningRate. */
  warmupEpochs: number;
}

/**
 * The learning rate for optimisation step `step` (0-based) of `totalSteps`: a linear warm-up over
 * the first warmupEpochs, then constant, cosine or linear decay to zero at the end.
 */
export function learningRateAt(step: number, totalSteps: number, stepsPerEpoch: number, options: ScheduleOptions): number {
  const warmupSteps = Math.min(Math.round(options.warmupEpochs * stepsPerEpoch), totalSteps);
  if (step < warmupSteps) return (options.learningRate * (step + 1)) / warmupSteps;
  const progress = totalSteps > warmupSteps ? (step - warmupSteps) / (totalSteps - warmupSteps) : 0;
  switch (options.schedule) {
    case 'constant':
      return options.learningRate;
    case 'cosine':
      return options.learningRate * 0.5 * (1 + Math.cos(Math.PI * progress));
    case 'linear':
      return options.learningRate * (1 - progress);
  }
}
