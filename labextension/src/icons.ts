import { LabIcon } from '@jupyterlab/ui-components';

/**
 * The CodeAct icon: a code bracket pair around a spark. `jp-icon3` fills
 * follow the theme (light and dark).
 */
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M8.6 6.6 7.2 5.2 0.4 12l6.8 6.8 1.4-1.4L3.2 12z"/>
    <path d="M15.4 6.6l1.4-1.4 6.8 6.8-6.8 6.8-1.4-1.4 5.4-5.4z"/>
    <path d="M12 6.5l1.2 3.6 3.6 1.2-3.6 1.2L12 16.1l-1.2-3.6-3.6-1.2 3.6-1.2z"/>
  </g>
</svg>`;

export const codeactIcon = new LabIcon({ name: 'codeact-lab:icon', svgstr });
