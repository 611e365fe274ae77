import type { ResizeControlActivities } from '../../workflows/resize-contract';
import type { Database } from '../../db/database';
import { beginResize, finishResize, setResizeProgress } from './resize-operations';
import { confirmResize, failResize, revertResize } from './resize-outcomes';

/** The control activities of the resize workflow, bound to ferry's database. */
export function resizeControlActivities(db: Database): ResizeControlActivities {
  return {
    beginResize: (request) => beginResize(db, request),
    setResizeProgress: (update) => setResizeProgress(db, update),
    finishResize: (request) => finishResize(db, request),
    confirmResize: (request) => confirmResize(db, request),
    revertResize: (request) => revertResize(db, request),
    failResize: (request) => failResize(db, request),
  };
}
