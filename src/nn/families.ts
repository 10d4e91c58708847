import { InputError } from '../util/errors.js';
import { Registry } from '../util/registry.js';
import type { FamilyEntry } from './family.js';
import { layersFamily } from './layersGraph.js';
import { mlpFamily } from './mlp.js';
import { resnetFamily } from './resnet.js';
import type { ModelSpec } from './spec.js';
import { vggFamily } from './vgg.js';

export type { FamilyEntry } from './family.js';

/** The registered architecture families; `families.register` adds one (see defineFamily). */
export const families = new Registry<FamilyEntry>('model family', [mlpFamily, vggFamily, resnetFamily, layersFamily]);

/** What a checkpoint records to rebuild its spec. */
export interface ArchitectureRecord {
  family: string;
  config: Record<string, unknown>;
  inputShape: number[];
  numClasses: number;
}

/** What a checkpoint records of `spec`: its family, configuration, input shape and classes. */
export function architectureRecord(spec: ModelSpec): ArchitectureRecord {
  return { family: spec.family, config: spec.config, inputShape: spec.inputShape, numClasses: spec.numClasses };
}

/** A family's configuration checked against its schema, naming `source` and the field in errors. */
export function parseFamilyConfig(family: FamilyEntry, config: unknown, source: string): Record<string, unknown> {
  const parsed = family.configSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? `.${issue.path.join('.')}` : '';
    throw new InputError(`${source}: ${family.name} config${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
