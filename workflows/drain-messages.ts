/** The messages a hostDrain workflow answers: its status query and the abort Update. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DrainState } from './drain-contract';

export const drainStatusQuery = defineQuery<DrainState>('status');

/**
 * Allowed while the drain runs: moves not started are dropped, moves in flight are aborted and
 * roll back; resolves at once with the state (the drain ends `aborted` when they have).
 */
export const drainAbortUpdate = defineUpdate<DrainState>('abort');
