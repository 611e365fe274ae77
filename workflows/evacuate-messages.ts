/** The messages an evacuate workflow answers: its status query, like the other operations'. */
import { defineQuery } from '@temporalio/workflow';
import type { EvacuationState } from './evacuate-contract';

export const evacuationStatusQuery = defineQuery<EvacuationState>('status');
