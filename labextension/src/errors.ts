/**
 * Failed requests, in words for the user.
 */
import { ServerConnection } from '@jupyterlab/services';

import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * A readable message for a failed request.
 */
export function describeError(
  trans: TranslationBundle,
  reason: unknown
): string {
  if (reason instanceof ServerConnection.ResponseError) {
    const status = reason.response.status;
    const what =
      status === 409
        ? trans.__('Busy')
        : status === 404
          ? trans.__('Not found')
          : status === 401 || status === 403
            ? trans.__('Not allowed')
            : trans.__('Error %1', status);
    return `${what}: ${reason.message}`;
  }
  if (reason instanceof ServerConnection.NetworkError) {
    return trans.__('The Jupyter server cannot be reached: %1', reason.message);
  }
  return reason instanceof Error ? reason.message : String(reason);
}
