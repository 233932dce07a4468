import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { ICommandPalette } from '@jupyterlab/apputils';

import { IDocumentManager } from '@jupyterlab/docmanager';

import { INotebookTracker } from '@jupyterlab/notebook';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { ServerConnection } from '@jupyterlab/services';

import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ITranslator } from '@jupyterlab/translation';

// The chat's modules are all needed at activation: the sidebar's icon shows
// at once and the applier must follow episodes as soon as a notebook opens.
/* eslint-disable jupyter/prefer-lazy-imports */
import { NotebookApplier } from './applier';

import { ChatController } from './controller';

import { EpisodeRegistry } from './episodes';

import { codeactIcon } from './icons';

import { MagicEpisodes, magicRendererFactory } from './magic';

import { requestAPI } from './request';

import { UserSettings } from './settings';

import { CodeActSidebar } from './sidebar';

import { bundle } from './trans';
/* eslint-enable jupyter/prefer-lazy-imports */

const PLUGIN_ID = 'codeact-lab:plugin';

namespace CommandIDs {
  export const open = 'codeact-lab:open';
}

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

async function loadSettings(
  registry: ISettingRegistry | null
): Promise<ISettingRegistry.ISettings | null> {
  if (!registry) {
    return null;
  }
  try {
    return await registry.load(PLUGIN_ID);
  } catch (reason) {
    console.warn('codeact-lab: settings could not be loaded', reason);
    return null;
  }
}

/**
 * The CodeAct chat sidebar, the applier that writes episodes into their
 * notebooks, and the renderer of `%codeact` outputs.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    "CodeAct agents in JupyterLab: every action is Python code run in the notebook's own kernel.",
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [
    IDocumentManager,
    ISettingRegistry,
    ICommandPalette,
    ILayoutRestorer,
    ITranslator
  ],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    docManager: IDocumentManager | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ): Promise<void> => {
    void checkServer();
    const trans = bundle(translator);

    const registry = new EpisodeRegistry();
    // Lives as long as the page: mirrors each followed episode into its notebook.
    new NotebookApplier(registry, tracker, docManager);
    const settingsReady = loadSettings(settingRegistry).then(
      loaded => new UserSettings(loaded)
    );

    // `%codeact` outputs: registered before anything awaits, so that no
    // notebook opens without it. Notebooks clone this registry when opened.
    let openInChat: ((id: string) => void) | null = null;
    const magic = new MagicEpisodes({
      registry,
      tracker,
      settings: settingsReady,
      trans,
      openInChat: id => openInChat?.(id)
    });
    rendermime.addFactory(magicRendererFactory(magic, rendermime, trans));

    const settings = await settingsReady;
    const controller = new ChatController({
      registry,
      tracker,
      settings,
      trans
    });
    const sidebar = new CodeActSidebar(controller, rendermime, trans);
    app.shell.add(sidebar, 'right', { rank: 700 });
    restorer?.add(sidebar, sidebar.id);
    void controller.loadConfig();
    openInChat = id => {
      app.shell.activateById(sidebar.id);
      void controller.openEpisode(id);
    };

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open CodeAct chat'),
      caption: trans.__(
        'Open the CodeAct chat: an agent that acts with Python code in this notebook'
      ),
      icon: codeactIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        app.shell.activateById(sidebar.id);
        sidebar.focusInput();
      }
    });
    palette?.addItem({
      command: CommandIDs.open,
      category: trans.__('CodeAct')
    });
  }
};

export default plugin;
