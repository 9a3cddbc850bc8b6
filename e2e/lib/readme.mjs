// The README's quickstart as steps: every fenced block whose info string is
// `sh quickstart [attributes]`, in order. GitHub shows only the first word
// (`sh`); the rest tells the test how a person runs the block:
//
//   terminal           in a new terminal, left running (a server)
//   ready=URL          ... which is ready when URL answers 2xx
//   ready=~/PATH       ... which is ready when that file exists
//   browser=NAME       the person then works in the browser with what the
//                      block printed (NAME: setup, consent)
//
// Anything else in a quickstart info string is refused, so a typo in the
// README fails the test instead of quietly changing what it runs.
const FENCE = /^```(\S+)\s+quickstart(?:\s+(.*))?$/;
const ATTRS = new Set(['terminal', 'ready', 'browser']);

export function quickstartBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const m = FENCE.exec(lines[i]);
    if (!m) continue;
    if (m[1] !== 'sh') throw new Error(`README line ${i + 1}: a quickstart block must be \`sh\`, not \`${m[1]}\``);
    const attrs = {};
    for (const word of (m[2] ?? '').split(/\s+/).filter(Boolean)) {
      const [k, v = true] = word.split(/=(.*)/s);
      if (!ATTRS.has(k)) throw new Error(`README line ${i + 1}: unknown quickstart attribute ${JSON.stringify(k)}`);
      attrs[k] = v;
    }
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^```\s*$/.test(lines[j]); j++) body.push(lines[j]);
    if (j === lines.length) throw new Error(`README line ${i + 1}: the quickstart block is not closed`);
    blocks.push({ line: i + 1, script: `${body.join('\n')}\n`, ...attrs });
    i = j;
  }
  return blocks;
}

/** The block's first line, for test names. */
export function title(block) {
  return block.script.split('\n')[0].trim();
}
