import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';

/**
 * The answer of `GET <baseUrl>/codeact/health`.
 */
export interface IHealth {
  status: string;
  version: string;
}

/**
 * Ask the server extension whether it is loaded, and log the answer.
 */
async function checkServer(): Promise<void> {
  try {
    const health = await requestAPI<IHealth>('health');
    console.log(`codeact-lab: server extension ${health.version} is ready`);
  } catch (reason) {
    const missing =
      reason instanceof ServerConnection.ResponseError &&
      reason.response.status === 404;
    console.error(
      missing
        ? 'codeact-lab: the codeact_lab server extension is not loaded ' +
            '(GET codeact/health answered 404); is the Python package ' +
            'installed and enabled in this Jupyter server?'
        : 'codeact-lab: the codeact_lab server extension did not answer ' +
            'its health check.',
      reason
    );
  }
}

/**
 * Initialization data for the codeact-lab extension.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'codeact-lab:plugin',
  description:
    "CodeAct agents in JupyterLab: every action is Python code run in the notebook's own kernel.",
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    void checkServer();
  }
};

export default plugin;
