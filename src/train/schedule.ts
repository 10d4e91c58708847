/** How the learning rate decays after warm-up: its factor at `progress` in [0, 1] of the decay. */
const decays = {
  constant: () => 1,
  cosine: (progress: number) => 0.5 * (1 + Math.cos(Math.PI * progress)),
  linear: (progress: number) => 1 - progress,
} as const;

/** How the learning rate changes over training, after an optional linear warm-up. */
export type ScheduleKind = keyof typeof decays;
export const scheduleKinds = Object.keys(decays) as [ScheduleKind, ...ScheduleKind[]];

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
  return options.learningRate * decays[options.schedule](progress);
}
