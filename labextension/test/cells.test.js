/**
 * The applier's cells (src/episodecells.ts) in a bare shared notebook model
 * (@jupyter/ydoc's YNotebook, no DOM), against the contract Python writes
 * (test/fixtures/cells.json, from test/make_cell_fixture.py): for every
 * status, the cell the live notebook gets and the one the export makes.
 * Also the status groups (src/status.ts) against ActionStatus's.
 */
const assert = require('node:assert/strict');
const { before, test } = require('node:test');
const fixture = require('./fixtures/cells.json');
const episode = require('./fixtures/episode.json');
const {
  CELL_METADATA_KEY,
  deleteEpisodeCells,
  sourceHash,
  syncStep
} = require('../test-build/episodecells.js');
const { STATUS_GROUPS } = require('../test-build/status.js');

let YNotebook;
before(async () => {
  ({ YNotebook } = await import('@jupyter/ydoc')); // an ES module
});

// yjs warns when a new cell's types are read before they join the document;
// JupyterLab's own inserts do the same. Keep the test output readable.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('Invalid access: Add Yjs type')) {
    warn(...args);
  }
};

const EP = fixture.episode;
const byStatus = Object.fromEntries(fixture.cases.map(c => [c.status, c]));

/** A fresh notebook for `fn`, disposed after (its awareness timer keeps node alive). */
function withNotebook(fn, cells = []) {
  const nb = YNotebook.create({ data: { cells } });
  try {
    return fn(nb);
  } finally {
    nb.dispose();
  }
}

function sync(nb, step, anchor = null, episodeId = EP) {
  nb.transact(() => syncStep(nb, episodeId, anchor, step));
}

/** A step of the fixture with another status's data, under one id. */
function stepAs(status, id = '0001-action') {
  return { ...byStatus[status].step, id };
}

/**
 * A cell as the fixture holds it: without its random id, and without
 * `written` (live only), which must be the hash of the source the applier
 * wrote: the cell's own unless the user edited it (`edited`).
 */
function plain(cell, edited = false) {
  const json = JSON.parse(JSON.stringify(cell.toJSON()));
  delete json.id;
  const mark = json.metadata[CELL_METADATA_KEY];
  if (mark && 'written' in mark) {
    assert.equal(mark.written === sourceHash(json.source), !edited);
    delete mark.written;
  }
  return json;
}

function expectedLive(status, id = '0001-action') {
  const cell = JSON.parse(JSON.stringify(byStatus[status].live));
  cell.metadata[CELL_METADATA_KEY].step = id;
  return cell;
}

test('the status groups are those of the Python ActionStatus', () => {
  assert.deepEqual(
    Object.keys(STATUS_GROUPS).sort(),
    Object.keys(Object.values(fixture.groups)[0]).sort()
  );
  for (const [status, groups] of Object.entries(fixture.groups)) {
    for (const [group, expected] of Object.entries(groups)) {
      assert.equal(
        STATUS_GROUPS[group](status),
        expected,
        `${status}.${group}`
      );
    }
  }
});

test('every status makes the cell the fixture holds', () => {
  assert.equal(fixture.cases.length, Object.keys(fixture.groups).length);
  for (const c of fixture.cases) {
    withNotebook(nb => {
      sync(nb, c.step);
      assert.equal(nb.cells.length, 1);
      assert.deepEqual(plain(nb.cells[0]), c.live, c.status);
    });
  }
});

test('a final status makes the same cell as the export', () => {
  for (const c of fixture.cases) {
    if (!fixture.groups[c.status].unfinished) {
      assert.deepEqual(c.live, c.export, c.status);
    }
  }
});

test('an action goes from proposed to done in one cell', () => {
  withNotebook(nb => {
    for (const status of ['pending', 'awaiting_approval', 'running', 'ok']) {
      sync(nb, stepAs(status));
      assert.equal(nb.cells.length, 1);
      assert.deepEqual(plain(nb.cells[0]), expectedLive(status), status);
    }
    // The same step again (a replay) changes nothing.
    sync(nb, stepAs('ok'));
    assert.equal(nb.cells.length, 1);
    assert.deepEqual(plain(nb.cells[0]), expectedLive('ok'));
  });
});

test('a failed action gets the raises-exception tag and keeps its error', () => {
  withNotebook(nb => {
    sync(nb, stepAs('running'));
    sync(nb, stepAs('restarted'));
    assert.deepEqual(plain(nb.cells[0]), expectedLive('restarted'));
    assert.deepEqual(nb.cells[0].getMetadata('tags'), ['raises-exception']);
  });
});

test('a rejected or skipped action is commented out where its code was', () => {
  for (const status of ['rejected', 'skipped']) {
    withNotebook(nb => {
      sync(nb, stepAs('awaiting_approval'));
      assert.equal(nb.cells[0].getSource(), byStatus.ok.step.data.code);
      sync(nb, stepAs(status));
      assert.deepEqual(plain(nb.cells[0]), expectedLive(status), status);
      assert.ok(
        nb.cells[0]
          .getSource()
          .split('\n')
          .every(line => line.startsWith('#')),
        'nothing of it runs'
      );
    });
  }
});

test('a cell the user edited is never written again', () => {
  withNotebook(nb => {
    sync(nb, stepAs('awaiting_approval'));
    nb.cells[0].setSource('print("mine")');
    for (const status of ['running', 'ok', 'rejected', 'error']) {
      sync(nb, stepAs(status));
      const cell = plain(nb.cells[0], true);
      assert.equal(cell.source, 'print("mine")', status);
      assert.deepEqual(cell.outputs, [], status);
      assert.equal(cell.execution_count, null, status);
      assert.equal(
        cell.metadata[CELL_METADATA_KEY].status,
        'awaiting_approval'
      );
    }
  });
});

test('once the record holds what the user wrote, the cell is written again', () => {
  withNotebook(nb => {
    sync(nb, stepAs('awaiting_approval'));
    nb.cells[0].setSource('print("mine")');
    // Approved as edited: the record's code is the user's.
    const ran = stepAs('ok');
    sync(nb, { ...ran, data: { ...ran.data, code: 'print("mine")' } });
    const cell = plain(nb.cells[0]);
    assert.equal(cell.source, 'print("mine")');
    assert.deepEqual(cell.outputs, byStatus.ok.step.data.outputs);
    assert.equal(cell.metadata[CELL_METADATA_KEY].status, 'ok');
  });
});

test('a deleted cell stays deleted, and removing an episode takes only its cells', () => {
  const mine = { cell_type: 'code', source: 'x = 1', metadata: {} };
  withNotebook(
    nb => {
      sync(nb, stepAs('ok', '0001-action'));
      sync(nb, stepAs('ok', '0002-action'));
      sync(nb, stepAs('ok', '0001-action'), null, 'another episode');
      assert.equal(nb.cells.length, 4);
      nb.transact(() => nb.deleteCell(1)); // the first action's cell
      sync(nb, stepAs('ok', '0001-action'));
      assert.equal(nb.cells.length, 3);
      let removed = 0;
      nb.transact(() => {
        removed = deleteEpisodeCells(nb, EP);
      });
      assert.equal(removed, 1);
      assert.deepEqual(
        nb.cells.map(c => c.getSource()),
        ['x = 1', byStatus.ok.step.data.code]
      );
    },
    [mine]
  );
});

test("an episode's cells go after its anchor, in order, then the answer", () => {
  const cells = ['a = 1', 'b = 2', 'c = 3'].map(source => ({
    cell_type: 'code',
    source,
    metadata: {}
  }));
  withNotebook(nb => {
    const anchor = nb.cells[0].id;
    sync(nb, stepAs('ok', '0001-action'), anchor);
    sync(nb, stepAs('error', '0002-action'), anchor);
    const answer = {
      id: '0003-solution',
      kind: 'solution',
      time: 0,
      data: { text: '8 ![x](http://example.com/x.png)' }
    };
    sync(nb, answer, anchor);
    const got = nb.cells.map(c => [
      c.cell_type,
      c.getMetadata(CELL_METADATA_KEY)?.step ?? c.getSource()
    ]);
    assert.deepEqual(got, [
      ['code', 'a = 1'],
      ['code', '0001-action'],
      ['code', '0002-action'],
      ['markdown', '0003-solution'],
      ['code', 'b = 2'],
      ['code', 'c = 3']
    ]);
    // The answer's remote image is a link: rendering it fetches nothing.
    assert.equal(
      nb.cells[3].getSource(),
      '**Answer:** 8 [x](http://example.com/x.png)'
    );
  }, cells);
});

test("the reducer fixture's episode, replayed, gives its cells", () => {
  const record = episode.expected;
  withNotebook(nb => {
    for (const step of record.steps) {
      sync(nb, step, null, record.id);
    }
    const got = nb.cells.map(c => [
      c.cell_type,
      c.getMetadata(CELL_METADATA_KEY).status ?? null,
      c.getSource()
    ]);
    assert.deepEqual(got, [
      [
        'code',
        'rejected',
        '# Rejected by the user: not yet\n# print(sum(numbrs))'
      ],
      ['code', 'ok', 'print(sum(numbers))  # mine'],
      ['markdown', null, '**Answer:** 14'],
      ['code', 'ok', 'final_answer(sum(numbers) * 2)'],
      ['markdown', null, '**Answer:** 28']
    ]);
    assert.deepEqual(nb.cells[1].getOutputs(), [
      { output_type: 'stream', name: 'stdout', text: '14\n' }
    ]);
  });
});
