/**
 * The ids of codeact-lab's commands: registered once (index.ts), run by the
 * palette, the shortcuts and the buttons of `%codeact` outputs alike.
 */
export namespace CommandIDs {
  export const open = 'codeact-lab:open';
  export const newEpisode = 'codeact-lab:new-episode';
  export const history = 'codeact-lab:history';
  export const approve = 'codeact-lab:approve';
  export const approveAll = 'codeact-lab:approve-all';
  export const reject = 'codeact-lab:reject';
  export const stop = 'codeact-lab:stop';
  export const exportEpisode = 'codeact-lab:export';
  export const continueHere = 'codeact-lab:continue-here';
  export const removeCells = 'codeact-lab:remove-episode-cells';
  export const toggleApproval = 'codeact-lab:toggle-approval';
  export const fixCell = 'codeact-lab:fix-cell';
  export const applyFix = 'codeact-lab:apply-fix';
}

/**
 * The arguments of the episode commands: without `episodeId`, the episode
 * the chat shows.
 */
export interface IEpisodeArgs {
  episodeId?: string;
  /** codeact-lab:reject only: the note for the model. */
  note?: string;
}
