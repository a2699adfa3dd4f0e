/**
 * Every snippet, expanded with its defaults (and with each choice of a choice
 * tab stop), must compile: the TypeScript/JavaScript ones type-check against the
 * real `zeromq` types and parse as plain JavaScript modules (they are
 * registered for both languages); the Python ones byte-compile with Debian's
 * python3. package.json must contribute each snippet file.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { PYTHON } from './helpers/peers';

const ROOT = path.resolve(__dirname, '../..');

interface Snippet {
  prefix: string | string[];
  description?: string;
  body: string | string[];
}

function load(file: string): Record<string, Snippet> {
  return JSON.parse(readFileSync(path.join(ROOT, 'snippets', file), 'utf8')) as Record<string, Snippet>;
}

const VARIABLES: Record<string, string> = {
  TM_FILENAME: 'example.ts',
  TM_FILENAME_BASE: 'example',
  TM_SELECTED_TEXT: '',
  TM_CURRENT_LINE: '',
  TM_LINE_INDEX: '0',
  TM_LINE_NUMBER: '1',
  CLIPBOARD: '',
};

/**
 * Expands VS Code snippet syntax the way the editor inserts it when the user
 * just presses Tab: `$1`/`${1}` take the placeholder text given for tab stop 1
 * anywhere in the body, `${1:default}` (nested allowed), `${1|a,b|}` the chosen
 * option (`choices[1]`, default the first), `$VAR`/`${VAR:default}` from
 * VARIABLES, `\$ \} \\` literal. Unknown variables and unbalanced braces throw.
 */
export function expandSnippet(body: string, choices: Record<number, number> = {}): string {
  // Pass 1: find each tab stop's default text (the first placeholder or choice that gives one).
  const defaults = new Map<number, string>();
  const parse = (s: string, i: number, stopAt: string | undefined, out: { text: string }): number => {
    while (i < s.length) {
      const c = s[i];
      if (c === '\\' && i + 1 < s.length && '$}\\,|'.includes(s[i + 1])) {
        out.text += s[i + 1];
        i += 2;
        continue;
      }
      if (stopAt !== undefined && c === stopAt) return i;
      if (c !== '$') {
        out.text += c;
        i++;
        continue;
      }
      const rest = s.slice(i + 1);
      let m: RegExpExecArray | null;
      if ((m = /^(\d+)/.exec(rest))) {
        out.text += `\u0000${m[1]}\u0000`;
        i += 1 + m[1].length;
      } else if ((m = /^([A-Z_][A-Z_0-9]*)/.exec(rest))) {
        if (!(m[1] in VARIABLES)) throw new Error(`unknown snippet variable $${m[1]}`);
        out.text += VARIABLES[m[1]];
        i += 1 + m[1].length;
      } else if ((m = /^\{(\d+)\}/.exec(rest))) {
        out.text += `\u0000${m[1]}\u0000`;
        i += 1 + m[0].length;
      } else if ((m = /^\{(\d+)\|/.exec(rest))) {
        const n = Number(m[1]);
        const end = s.indexOf('|}', i);
        if (end < 0) throw new Error(`unterminated choice at ${i}`);
        const options = s.slice(i + 1 + m[0].length, end).split(',');
        const chosen = options[choices[n] ?? 0];
        if (chosen === undefined) throw new Error(`tab stop ${n} has no choice ${choices[n]}`);
        if (!defaults.has(n)) defaults.set(n, chosen);
        out.text += `\u0000${n}\u0000`;
        i = end + 2;
      } else if ((m = /^\{(\d+):/.exec(rest))) {
        const n = Number(m[1]);
        const inner = { text: '' };
        const end = parse(s, i + 1 + m[0].length, '}', inner);
        if (s[end] !== '}') throw new Error(`unterminated placeholder \${${n}: at ${i}`);
        if (!defaults.has(n)) defaults.set(n, inner.text);
        out.text += `\u0000${n}\u0000`;
        i = end + 1;
      } else if ((m = /^\{([A-Z_][A-Z_0-9]*)(?::|\})/.exec(rest))) {
        const name = m[1];
        if (m[0].endsWith('}')) {
          if (!(name in VARIABLES)) throw new Error(`unknown snippet variable \${${name}}`);
          out.text += VARIABLES[name];
          i += 1 + m[0].length;
        } else {
          const inner = { text: '' };
          const end = parse(s, i + 1 + m[0].length, '}', inner);
          out.text += name in VARIABLES && VARIABLES[name] !== '' ? VARIABLES[name] : inner.text;
          i = end + 1;
        }
      } else {
        throw new Error(`stray '$' at ${i}: ${s.slice(i, i + 20)}`);
      }
    }
    if (stopAt !== undefined) throw new Error(`missing '${stopAt}'`);
    return i;
  };
  const out = { text: '' };
  parse(body, 0, undefined, out);
  // Pass 2: every occurrence of a tab stop shows its default (mirrors); $0 and stops without a default are empty.
  let text = out.text;
  for (let guard = 0; guard < 10 && text.includes('\u0000'); guard++) {
    text = text.replace(/\u0000(\d+)\u0000/g, (_, n: string) => defaults.get(Number(n)) ?? '');
  }
  return text;
}

/** Every expansion to check: the defaults, plus each other option of each choice tab stop. */
function expansions(body: string): { label: string; text: string }[] {
  const result = [{ label: 'defaults', text: expandSnippet(body) }];
  for (const m of body.matchAll(/\$\{(\d+)\|([^|]*)\|\}/g)) {
    const options = m[2].split(',');
    for (let k = 1; k < options.length; k++) result.push({ label: `choice ${m[1]}=${options[k]}`, text: expandSnippet(body, { [Number(m[1])]: k }) });
  }
  return result;
}

const bodyText = (s: Snippet) => (Array.isArray(s.body) ? s.body.join('\n') : s.body);

describe('snippets: expansion', () => {
  it('handles defaults, mirrors, nesting, choices, variables and escapes', () => {
    assert.equal(expandSnippet('a ${1:x} $1 ${1} $0'), 'a x x x ');
    assert.equal(expandSnippet('${1:tcp://${2:127.0.0.1}:5556} $2'), 'tcp://127.0.0.1:5556 127.0.0.1');
    assert.equal(expandSnippet('${1|bind,connect|}()'), 'bind()');
    assert.equal(expandSnippet('${1|bind,connect|}()', { 1: 1 }), 'connect()');
    assert.equal(expandSnippet('\\$1 costs \\$5 {\\}}'), '$1 costs $5 {}}');
    assert.equal(expandSnippet('$TM_FILENAME ${TM_FILENAME_BASE} ${TM_SELECTED_TEXT:none}'), 'example.ts example none');
    assert.throws(() => expandSnippet('${1:open'), /missing '}'/);
    assert.throws(() => expandSnippet('$NOPE'), /unknown snippet variable/);
  });
});

describe('snippets: every pattern, both languages', () => {
  const tsSnippets = load('typescript.json');
  const pySnippets = load('python.json');
  const PATTERNS = [
    'zmq-push',
    'zmq-pull',
    'zmq-round-robin',
    'zmq-req',
    'zmq-rep',
    'zmq-req-retry',
    'zmq-pub',
    'zmq-sub',
    'zmq-pair',
    'zmq-pipeline',
    'zmq-queue',
    'zmq-forwarder',
    'zmq-streamer',
    'zmq-monitored-queue',
    'zmq-poller',
  ];
  let tmp: string | undefined;

  afterEach(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('covers every catalog pattern in TypeScript and Python, each with a description and endpoint tab stops', () => {
    for (const [file, snippets] of [
      ['typescript.json', tsSnippets],
      ['python.json', pySnippets],
    ] as const) {
      const prefixes = Object.values(snippets).flatMap((s) => s.prefix);
      assert.equal(new Set(prefixes).size, prefixes.length, `${file}: duplicate prefixes`);
      for (const p of PATTERNS) {
        const s = Object.values(snippets).find((x) => [x.prefix].flat().includes(p));
        assert.ok(s, `${file} has no ${p} snippet`);
        assert.ok(s.description, `${file} ${p}: no description`);
        // Endpoint or port is a tab stop, and every endpoint is on 127.0.0.1.
        assert.match(bodyText(s), /\$\{\d+:(tcp:\/\/127\.0\.0\.1:)?\d{4,5}\}/, `${file} ${p}: no endpoint/port tab stop`);
        assert.ok(!/tcp:\/\/\*/.test(expandSnippet(bodyText(s))), `${file} ${p} binds a wildcard address`);
      }
    }
  });

  it('TypeScript/JavaScript snippets type-check against zeromq v6 and parse as JavaScript modules', function () {
    this.timeout(60000);
    tmp = mkdtempSync(path.join(tmpdir(), 'zmq-snippets-'));
    const files = new Map<string, string>();
    const names = new Map<string, string>();
    for (const [name, s] of Object.entries(tsSnippets)) {
      for (const { label, text } of expansions(bodyText(s))) {
        const stem = `${[s.prefix].flat()[0]}-${label.replace(/[^a-z0-9]+/gi, '_')}`;
        const importsZmq = /from 'zeromq'/.test(text);
        const source = `${importsZmq ? '' : "import * as zmq from 'zeromq';\n"}${text}\nexport {};\n`;
        // Virtual files inside the repository, so that `zeromq` resolves from its node_modules.
        files.set(path.join(ROOT, 'test', 'unit', '.snippet-check', `${stem}.ts`), source);
        names.set(stem, `${name} (${label})`);
        // Registered for JavaScript too: the same text must be valid JavaScript.
        const js = path.join(tmp, `${stem}.mjs`);
        writeFileSync(js, source);
        try {
          execFileSync(process.execPath, ['--check', js], { stdio: 'pipe' });
        } catch (err) {
          assert.fail(`${name} (${label}) is not valid JavaScript:\n${(err as { stderr?: Buffer }).stderr}\n${source}`);
        }
      }
    }
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (file, lang, ...rest) =>
      files.has(file) ? ts.createSourceFile(file, files.get(file)!, lang) : getSourceFile.call(host, file, lang, ...rest);
    host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
    host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
    const program = ts.createProgram([...files.keys()], options, host);
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || files.has(d.file.fileName));
    const report = diagnostics.map((d) => {
      const where = d.file ? `${names.get(path.basename(d.file.fileName, '.ts'))} line ${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    assert.deepEqual(report, []);
    // The check must really have resolved zeromq's types, not silently typed it as any.
    const probe = program.getSourceFiles().some((f) => /node_modules[\\/]zeromq[\\/]lib[\\/]index\.d\.ts$/.test(f.fileName));
    assert.ok(probe, 'zeromq types were not loaded');
  });

  it('Python snippets byte-compile with python3 -m py_compile', function () {
    this.timeout(30000);
    tmp = mkdtempSync(path.join(tmpdir(), 'zmq-snippets-'));
    const written: { file: string; name: string }[] = [];
    for (const [name, s] of Object.entries(pySnippets)) {
      for (const { label, text } of expansions(bodyText(s))) {
        const file = path.join(tmp, `${[s.prefix].flat()[0].replace(/-/g, '_')}_${label.replace(/[^a-z0-9]+/gi, '_')}.py`);
        writeFileSync(file, text + '\n');
        written.push({ file, name: `${name} (${label})` });
      }
    }
    for (const { file, name } of written) {
      try {
        execFileSync(PYTHON, ['-m', 'py_compile', file], { stdio: 'pipe', env: { ...process.env, PYTHONPYCACHEPREFIX: path.join(tmp, 'pycache') } });
      } catch (err) {
        assert.fail(`${name} does not compile:\n${(err as { stderr?: Buffer }).stderr}\n${readFileSync(file, 'utf8')}`);
      }
    }
  });

  it('a broken snippet is caught (the checks can fail)', () => {
    const bad = "const s = new zmq.Push();\ns.sendd('x');\n";
    const source = `import * as zmq from 'zeromq';\n${bad}export {};\n`;
    const file = path.join(ROOT, 'test', 'unit', '.snippet-check', 'bad.ts');
    const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Node10, types: ['node'], strict: true, noEmit: true, skipLibCheck: true };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists } = host;
    host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, source, lang) : getSourceFile.call(host, f, lang, ...rest));
    host.fileExists = (f) => f === file || fileExists.call(host, f);
    const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options, host)).filter((d) => d.file?.fileName === file);
    assert.match(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('\n'), /sendd/);
    tmp = mkdtempSync(path.join(tmpdir(), 'zmq-snippets-'));
    writeFileSync(path.join(tmp, 'bad.py'), 'while True\n    pass\n');
    assert.throws(() => execFileSync(PYTHON, ['-m', 'py_compile', path.join(tmp!, 'bad.py')], { stdio: 'pipe' }));
  });
});

describe('snippets: package.json', () => {
  it('contributes typescript.json for TypeScript and JavaScript and python.json for Python', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes?: { snippets?: { language: string; path: string }[] } };
    const entries = pkg.contributes?.snippets ?? [];
    const has = (language: string, file: string) => entries.some((e) => e.language === language && path.normalize(e.path) === path.normalize(file));
    assert.ok(has('typescript', './snippets/typescript.json'), JSON.stringify(entries));
    assert.ok(has('javascript', './snippets/typescript.json'), JSON.stringify(entries));
    assert.ok(has('python', './snippets/python.json'), JSON.stringify(entries));
    for (const e of entries) assert.doesNotThrow(() => readFileSync(path.join(ROOT, e.path)), `${e.path} is missing`);
  });
});
