import { DriftbeatError } from '../errors.ts';

/** A reference build that cannot go on: the code says why (ERR_REFERENCE_*), the message what to do. */
export class ReferenceBuildError extends DriftbeatError {}
