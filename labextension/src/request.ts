import { URLExt } from '@jupyterlab/coreutils';

import { ServerConnection } from '@jupyterlab/services';

/**
 * The URL namespace of the codeact-lab server extension.
 */
export const API_NAMESPACE = 'codeact';

/**
 * Call the codeact-lab server extension.
 *
 * @param endPoint API REST end point, relative to `<baseUrl>/codeact`
 * @param init Initial values for the request
 * @param settings Server connection settings (defaults to the page's)
 * @returns The response body parsed as JSON (or `undefined` when empty)
 *
 * @throws {ServerConnection.NetworkError} when the server cannot be reached
 * @throws {ServerConnection.ResponseError} on a non-2xx answer; its message
 *   is the server's JSON `message` when there is one
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const requestUrl = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(requestUrl, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: unknown = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      if (response.ok) {
        throw new ServerConnection.ResponseError(
          response,
          `codeact-lab: invalid JSON from ${requestUrl}: ${text.slice(0, 200)}`
        );
      }
    }
  }

  if (!response.ok) {
    // Use the server's JSON `message`; otherwise (an HTML error page, say)
    // ResponseError's default "Invalid response: <status> <statusText>".
    const message =
      data !== null &&
      typeof data === 'object' &&
      typeof (data as { message?: unknown }).message === 'string'
        ? (data as { message: string }).message
        : undefined;
    throw new ServerConnection.ResponseError(response, message);
  }

  return data as T;
}
