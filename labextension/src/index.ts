import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { ICommandPalette } from '@jupyterlab/apputils';

import { IDocumentManager } from '@jupyterlab/docmanager';

import type * as nbformat from '@jupyterlab/nbformat';

import { INotebookTracker } from '@jupyterlab/notebook';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { ServerConnection } from '@jupyterlab/services';

import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ITranslator } from '@jupyterlab/translation';

import { CommandRegistry } from '@lumino/commands';

// The chat's modules are all needed at activation: the sidebar's icon shows
// at once and the applier must follow episodes as soon as a notebook opens.
/* eslint-disable jupyter/prefer-lazy-imports */
import { NotebookApplier } from './applier';

import { CommandIDs, IEpisodeArgs } from './commandids';

import { ChatController } from './controller';

import { EpisodeActions } from './episodeactions';

import { EpisodeRegistry } from './episodes';

import { FixCellButtons } from './fixcell';

import { codeactIcon } from './icons';

import { magicRendererFactory } from './magic';

import { MagicEpisodes } from './magicservice';

import { hasError } from './notebookcontext';

import { requestAPI } from './request';

import { UserSettings } from './settings';

import { CodeActSidebar } from './sidebar';

import { bundle } from './trans';
/* eslint-enable jupyter/prefer-lazy-imports */

const PLUGIN_ID = 'codeact-lab:plugin';

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
    const applier = new NotebookApplier(registry, tracker, docManager);
    const settingsReady = loadSettings(settingRegistry).then(
      loaded => new UserSettings(loaded)
    );

    const actions = new EpisodeActions({ registry, applier, trans });

    // `%codeact` outputs: registered before anything awaits, so that no
    // notebook opens without it. Notebooks clone this registry when opened.
    // Their buttons run the commands below, given their episode.
    const magic = new MagicEpisodes({
      registry,
      tracker,
      settings: settingsReady,
      trans,
      actions
    });
    rendermime.addFactory(
      magicRendererFactory(magic, rendermime, app.commands, trans)
    );

    const settings = await settingsReady;
    const controller = new ChatController({
      registry,
      tracker,
      settings,
      trans,
      applier,
      actions
    });
    const sidebar = new CodeActSidebar(controller, rendermime, trans);
    app.shell.add(sidebar, 'right', { rank: 700 });
    restorer?.add(sidebar, sidebar.id);
    void controller.loadConfig();

    // The episode a command acts on: the one it is given, else the chat's.
    const episodeId = (args: IEpisodeArgs): string | null =>
      typeof args.episodeId === 'string' ? args.episodeId : null;
    const target = (args: IEpisodeArgs) => {
      const id = episodeId(args);
      return id === null ? controller.current : (registry.get(id) ?? null);
    };
    const episodeIdArg = {
      type: 'string',
      description:
        'The id of the episode (default: the one the CodeAct chat shows)'
    };

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open CodeAct chat'),
      caption: trans.__(
        'Open the CodeAct chat: an agent that acts with Python code in this notebook'
      ),
      icon: codeactIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            episodeId: {
              type: 'string',
              description: 'Show this episode in the chat, to follow up'
            }
          }
        }
      },
      execute: args => {
        const id = episodeId(args as IEpisodeArgs);
        app.shell.activateById(sidebar.id);
        if (id === null) {
          sidebar.focusInput();
          return;
        }
        return controller.openEpisode(id);
      }
    });
    // Every action of the chat is a command too (palette, shortcuts, menus,
    // and, given an episodeId, the buttons of a `%codeact` output: the
    // episode's busy state and error then stay with that episode).
    const noArgs = { args: { type: 'object', properties: {} } };
    const episodeArgs = {
      args: { type: 'object', properties: { episodeId: episodeIdArg } }
    };
    const episodeCommands: {
      id: string;
      label: string;
      /** Takes `IEpisodeArgs`; else no arguments. */
      describedBy?: CommandRegistry.ICommandOptions['describedBy'];
      enabled: (args: IEpisodeArgs) => boolean;
      execute: (args: IEpisodeArgs) => unknown;
    }[] = [
      {
        id: CommandIDs.newEpisode,
        label: trans.__('New CodeAct episode'),
        enabled: () => true,
        execute: () => controller.newEpisode()
      },
      {
        id: CommandIDs.history,
        label: trans.__("Show this notebook's CodeAct episodes"),
        enabled: () => true,
        execute: () => controller.showHistory()
      },
      {
        id: CommandIDs.approve,
        label: trans.__('Approve the CodeAct action (as its cell shows it)'),
        describedBy: episodeArgs,
        enabled: args => !!target(args)?.awaitingApproval,
        execute: args => {
          const id = episodeId(args);
          return id === null
            ? controller.approve()
            : actions.run(id, model => actions.approve(model));
        }
      },
      {
        id: CommandIDs.approveAll,
        label: trans.__('Approve all remaining CodeAct actions of this turn'),
        describedBy: episodeArgs,
        enabled: args => !!target(args)?.awaitingApproval,
        execute: args => {
          const id = episodeId(args);
          return id === null
            ? controller.approve(true)
            : actions.run(id, model => actions.approve(model, true));
        }
      },
      {
        id: CommandIDs.reject,
        label: trans.__('Reject the CodeAct action'),
        describedBy: {
          args: {
            type: 'object',
            properties: {
              episodeId: episodeIdArg,
              note: {
                type: 'string',
                description: 'Why, for the model (optional)'
              }
            }
          }
        },
        enabled: args => !!target(args)?.awaitingApproval,
        execute: args => {
          const id = episodeId(args);
          const note = typeof args.note === 'string' ? args.note : undefined;
          return id === null
            ? controller.reject(note)
            : actions.run(id, model => actions.reject(model, note));
        }
      },
      {
        id: CommandIDs.stop,
        label: trans.__('Stop the CodeAct episode'),
        describedBy: episodeArgs,
        enabled: args => !!target(args)?.running,
        execute: args => {
          const id = episodeId(args);
          return id === null
            ? controller.stop()
            : actions.run(id, model => actions.stop(model));
        }
      },
      {
        id: CommandIDs.exportEpisode,
        label: trans.__('Export the CodeAct episode as a notebook'),
        describedBy: episodeArgs,
        enabled: args => !!target(args),
        execute: args => {
          const id = episodeId(args);
          return id === null
            ? controller.exportEpisode()
            : actions.run(id, model => actions.exportNotebook(model));
        }
      },
      {
        id: CommandIDs.continueHere,
        label: trans.__('Continue this CodeAct episode here'),
        enabled: () => !!controller.exported,
        execute: () => controller.continueHere()
      },
      {
        id: CommandIDs.removeCells,
        label: trans.__("Remove this CodeAct episode's cells"),
        describedBy: episodeArgs,
        enabled: args => !!target(args),
        execute: args => {
          const id = episodeId(args);
          const model = id === null ? null : registry.get(id);
          return id === null
            ? controller.removeCells()
            : model
              ? actions.removeCells(model)
              : 0;
        }
      },
      {
        id: CommandIDs.applyFix,
        label: trans.__('Apply the CodeAct fix to the cell'),
        enabled: () => controller.canApplyFix,
        execute: () => controller.applyFix()
      },
      {
        id: CommandIDs.toggleApproval,
        label: trans.__('Ask before running CodeAct actions'),
        enabled: () => true,
        execute: () =>
          controller.setApproval(controller.approval === 'ask' ? 'auto' : 'ask')
      }
    ];
    for (const command of episodeCommands) {
      app.commands.addCommand(command.id, {
        label: command.label,
        describedBy: command.describedBy ?? noArgs,
        isEnabled: args => command.enabled(args as IEpisodeArgs),
        isToggled:
          command.id === CommandIDs.toggleApproval
            ? () => controller.approval === 'ask'
            : undefined,
        execute: args => command.execute(args as IEpisodeArgs)
      });
    }
    // Menus re-read a command when told; tell them only when one changes.
    let enabledKey = '';
    controller.changed.connect(() => {
      const key = episodeCommands.map(c => Number(c.enabled({}))).join('');
      if (key !== enabledKey) {
        enabledKey = key;
        episodeCommands.forEach(c => app.commands.notifyCommandChanged(c.id));
      }
    });

    // "Fix with CodeAct": on a cell given by the error's button, else the active cell.
    const fixTarget = (args: any) => {
      const path = typeof args?.path === 'string' ? args.path : null;
      const panel = path
        ? tracker.find(p => p.context.path === path)
        : tracker.currentWidget;
      const cellId =
        typeof args?.cellId === 'string'
          ? args.cellId
          : panel?.content.activeCell?.model.id;
      const cell = panel?.content.widgets.find(c => c.model.id === cellId);
      return panel && cell && hasError(cell.model.toJSON() as nbformat.ICell)
        ? { panel, cellId: cell.model.id }
        : null;
    };
    app.commands.addCommand(CommandIDs.fixCell, {
      label: trans.__('Fix with CodeAct'),
      caption: trans.__(
        "Start a CodeAct episode on the cell's error: the fix is worked out in cells below it"
      ),
      icon: codeactIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: { type: 'string', description: "The notebook's path" },
            cellId: {
              type: 'string',
              description: 'The id of the failing cell'
            }
          }
        }
      },
      isEnabled: args => fixTarget(args) !== null,
      execute: async args => {
        const target = fixTarget(args);
        if (target) {
          app.shell.activateById(sidebar.id);
          await controller.fixCell(target.panel, target.cellId);
        }
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.fixCell,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 12
    });
    new FixCellButtons(tracker, app.commands, CommandIDs.fixCell, trans);

    for (const id of [
      CommandIDs.open,
      CommandIDs.fixCell,
      ...episodeCommands.map(c => c.id)
    ]) {
      palette?.addItem({ command: id, category: trans.__('CodeAct') });
    }
  }
};

export default plugin;
