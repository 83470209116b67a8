import type { BbsDraft } from './bbs.writer.ts';
import type { CloudDraft } from './cloud.writer.ts';
import type { CrmDraft } from './crm.writer.ts';
import type { MallDraft } from './mall.writer.ts';
import type { Person, PersonOptions } from './people.ts';
import type { SourceName } from './draft.ts';
import type { TrapKind } from './traps.ts';
import type { World } from './world.ts';

export type Draft = CrmDraft | BbsDraft | CloudDraft | MallDraft;

/** What a scenario (one ordinary person, or one trap instance) builds its people and records with. */
export interface Scene {
  w: World;
  /** A new person (counted towards --people). */
  person(opts?: PersonOptions): Person;
  /** The person's ordinary records in the sources not yet taken (each by chance). */
  rest(p: Person, taken: readonly SourceName[]): void;
  emit(d: Draft): void;
  /** Opens a trap instance: its id for the notes and its occurrence number (to rotate variants). */
  open(kind: TrapKind): { id: string; n: number };
}
