import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HubProgressEvent,
  ResolveModelOptions,
  buildResourcePaths,
  checkRepoId,
  hubSettings,
  resolveModel,
} from '../../../../src/engine/model/hub';
import { FakeHub } from './hub/fake-hub';

const commitOf = () => randomBytes(20).toString('hex');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** A BERT-like repo: config, one weights file, WordPiece vocab and tokenizer config (no tokenizer.json). */
function bertRepo(weightBytes = 64 * 1024) {
  return {
    commit: commitOf(),
    files: {
      'config.json': json({ model_type: 'bert', hidden_size: 8 }),
      'model.safetensors': randomBytes(weightBytes),
      'vocab.txt': Buffer.from('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngreat\nterrible\n'),
      'tokenizer_config.json': json({ do_lower_case: true }),
    } as Record<string, Buffer>,
  };
}

describe('engine/model/hub: buildResourcePaths (pure, no I/O)', () => {
  it('maps org/name + file to the Hub resolve URL and to refs/, snapshots/<commit>/ and .no_exist/ of the HF cache', () => {
    const commit = 'a'.repeat(40);
    const p = buildResourcePaths('FacebookAI/roberta-base', 'config.json', { cacheDir: '/c', endpoint: 'https://hub.example/', commit });
    assert.equal(p.requestPath, 'FacebookAI/roberta-base/config.json');
    assert.equal(p.remoteUrl, 'https://hub.example/FacebookAI/roberta-base/resolve/main/config.json');
    assert.equal(p.repoDir, path.join('/c', 'models--FacebookAI--roberta-base'));
    assert.equal(p.refPath, path.join(p.repoDir, 'refs', 'main'));
    assert.equal(p.localPath, path.join(p.repoDir, 'snapshots', commit, 'config.json'));
    assert.equal(p.incompletePath, p.localPath + '.incomplete');
    assert.equal(p.noExistPath, path.join(p.repoDir, '.no_exist', commit, 'config.json'));
    assert.equal(p.cacheKey, 'FacebookAI/roberta-base/config.json');
  });

  it('knows the snapshot folder only from a given commit or a commit-hash revision', () => {
    assert.equal(buildResourcePaths('bert-base-uncased', 'vocab.txt', { cacheDir: '/c' }).localPath, null);
    const commit = '0123456789abcdef0123456789abcdef01234567';
    const p = buildResourcePaths('bert-base-uncased', 'vocab.txt', { cacheDir: '/c', revision: commit });
    assert.equal(p.localPath, path.join('/c', 'models--bert-base-uncased', 'snapshots', commit, 'vocab.txt'));
    assert.equal(p.remoteUrl, `https://huggingface.co/bert-base-uncased/resolve/${commit}/vocab.txt`);
  });

  it('percent-encodes a revision with a slash and keeps non-main revisions apart in the cache key', () => {
    const p = buildResourcePaths('org/m', 'model.safetensors', { cacheDir: '/c', revision: 'refs/pr/1' });
    assert.equal(p.remoteUrl, 'https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/model.safetensors');
    assert.equal(p.refPath, path.join('/c', 'models--org--m', 'refs', 'refs', 'pr', '1'));
    assert.equal(p.cacheKey, 'org/m@refs/pr/1/model.safetensors');
  });
});

describe('engine/model/hub: settings and id validation', () => {
  it('takes the cache folder from HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub', () => {
    const home = path.resolve('/home/u');
    assert.equal(hubSettings({}, { HF_HUB_CACHE: '/x/hub', HF_HOME: '/y' }, home).cacheDir, path.resolve('/x/hub'));
    assert.equal(hubSettings({}, { HF_HOME: '/y' }, home).cacheDir, path.resolve('/y/hub'));
    assert.equal(hubSettings({}, {}, home).cacheDir, path.join(home, '.cache', 'huggingface', 'hub'));
    assert.equal(hubSettings({ cacheDir: '/z' }, { HF_HUB_CACHE: '/x' }, home).cacheDir, path.resolve('/z'));
  });

  it('reads endpoint, offline and token from HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN; token null means none', () => {
    const s = hubSettings({}, { HF_ENDPOINT: 'https://mirror.example/', HF_HUB_OFFLINE: '1', HF_TOKEN: 'hf_x' }, '/h');
    assert.deepEqual([s.endpoint, s.offline, s.token], ['https://mirror.example', true, 'hf_x']);
    const d = hubSettings({ token: null }, { HF_TOKEN: 'hf_x' }, '/h');
    assert.deepEqual([d.endpoint, d.offline, d.token], ['https://huggingface.co', false, null]);
    assert.throws(() => hubSettings({ endpoint: 'not a url' }, {}, '/h'), /not a URL.*endpoint option/);
  });

  it('accepts name and org/name ids and rejects .., --, deeper paths and odd characters', () => {
    for (const ok of ['bert-base-uncased', 'FacebookAI/roberta-base', 'org_1/m.v2']) assert.equal(checkRepoId(ok), ok);
    for (const bad of ['a..b', 'a--b', 'org/a/b', 'org/', '/abs', 'a b', 'x.git', '', 'a'.repeat(97)]) {
      assert.throws(() => checkRepoId(bad), /neither a model folder on disk nor a valid Hugging Face model id/, bad);
    }
  });
});

describe('engine/model/hub: resolveModel against a local Hub server', function () {
  let hub: FakeHub;
  let cacheDir: string;
  const options = (extra: ResolveModelOptions = {}): ResolveModelOptions => ({
    cacheDir,
    endpoint: hub.endpoint,
    token: null,
    retryDelayMs: 5,
    env: {},
    ...extra,
  });

  before(async () => {
    hub = await FakeHub.start();
  });
  after(async () => {
    await hub.close();
  });
  beforeEach(() => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-hub-'));
    hub.log.length = 0;
  });
  afterEach(() => {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('downloads config, weights and the tokenizer files that exist into snapshots/<commit>, writes refs/main and .no_exist markers', async () => {
    const repo = bertRepo();
    hub.repos.set('org/bert-tiny', repo);
    const resolved = await resolveModel('org/bert-tiny', options());
    const repoDir = path.join(cacheDir, 'models--org--bert-tiny');
    assert.equal(resolved.source, 'hub');
    assert.equal(resolved.commit, repo.commit);
    assert.equal(resolved.dir, path.join(repoDir, 'snapshots', repo.commit));
    assert.equal(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), repo.commit);
    for (const [name, bytes] of Object.entries(repo.files)) {
      assert.ok(fs.readFileSync(path.join(resolved.dir, name)).equals(bytes), `${name} differs from the served bytes`);
    }
    assert.deepEqual(resolved.files.sort(), Object.keys(repo.files).sort());
    for (const absent of ['tokenizer.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json']) {
      assert.ok(fs.existsSync(path.join(repoDir, '.no_exist', repo.commit, absent)), `no .no_exist marker for ${absent}`);
      assert.ok(!fs.existsSync(path.join(resolved.dir, absent)));
    }
    assert.deepEqual(fs.readdirSync(resolved.dir).filter((f) => f.endsWith('.incomplete')), []);
    // One HEAD at "main" pins the commit; every file is then fetched at that commit.
    assert.deepEqual([hub.log[0].method, hub.log[0].file, hub.log[0].revision], ['HEAD', 'config.json', 'main']);
    const gets = hub.log.filter((r) => r.method === 'GET');
    assert.equal(gets.length, 8, 'config, weights and six tokenizer files');
    assert.ok(gets.every((r) => r.revision === repo.commit), 'a file was fetched at a moving revision');
  });

  it('resolves a complete cached snapshot a second time without any request', async () => {
    hub.repos.set('bert-cached', bertRepo());
    const first = await resolveModel('bert-cached', options());
    const requests = hub.log.length;
    assert.ok(requests > 0);
    const second = await resolveModel('bert-cached', options());
    assert.equal(hub.log.length, requests, 'the second resolve reached the server');
    assert.equal(second.source, 'cache');
    assert.equal(second.dir, first.dir);
    // Offline mode reads the same snapshot, also without requests.
    const offline = await resolveModel('bert-cached', options({ offline: true, endpoint: 'http://127.0.0.1:9' }));
    assert.equal(offline.dir, first.dir);
    assert.equal(hub.log.length, requests);
  });

  it('resumes a download cut halfway: the retry sends Range: bytes=<partial>- and the file comes out byte-identical', async () => {
    const repo = bertRepo(200 * 1024);
    hub.repos.set('org/cut', repo);
    hub.cutOnce.add('org/cut/model.safetensors');
    const resolved = await resolveModel('org/cut', options());
    const gets = hub.requestsFor('org/cut', 'model.safetensors').filter((r) => r.method === 'GET');
    const partial = hub.sentBeforeBreak.get('org/cut/model.safetensors')!;
    assert.ok(partial > 0 && partial < repo.files['model.safetensors'].length);
    assert.deepEqual(gets.map((r) => r.range), [null, `bytes=${partial}-`]);
    assert.ok(fs.readFileSync(path.join(resolved.dir, 'model.safetensors')).equals(repo.files['model.safetensors']));
  });

  it('starts over when the server ignores Range (200 instead of 206) and still yields the exact file', async () => {
    const repo = bertRepo(100 * 1024);
    hub.repos.set('org/norange', repo);
    hub.cutOnce.add('org/norange/model.safetensors');
    hub.ignoreRange = true;
    try {
      const resolved = await resolveModel('org/norange', options());
      const gets = hub.requestsFor('org/norange', 'model.safetensors').filter((r) => r.method === 'GET');
      assert.equal(gets.length, 2);
      assert.match(gets[1].range ?? '', /^bytes=\d+-$/);
      assert.ok(fs.readFileSync(path.join(resolved.dir, 'model.safetensors')).equals(repo.files['model.safetensors']));
    } finally {
      hub.ignoreRange = false;
    }
  });

  it('fetches sharded LFS weights through the CDN redirect and sends HF_TOKEN to the endpoint only', async () => {
    const shards = { 'model-00001-of-00002.safetensors': randomBytes(3000), 'model-00002-of-00002.safetensors': randomBytes(5000) };
    const repo = bertRepo();
    delete repo.files['model.safetensors'];
    Object.assign(repo.files, shards, {
      'model.safetensors.index.json': json({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } }),
    });
    hub.repos.set('org/sharded', { ...repo, lfs: Object.keys(shards), token: 'hf_secret' });
    const resolved = await resolveModel('org/sharded', options({ token: 'hf_secret' }));
    for (const [name, bytes] of Object.entries(shards)) assert.ok(fs.readFileSync(path.join(resolved.dir, name)).equals(bytes));
    assert.ok(resolved.files.includes('model.safetensors.index.json'));
    const cdn = hub.log.filter((r) => r.server === 'cdn');
    assert.deepEqual(cdn.map((r) => r.file).sort(), Object.keys(shards).sort());
    assert.ok(cdn.every((r) => r.authorization === null), 'the token leaked to the CDN origin');
    assert.ok(hub.log.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_secret'));
  });

  it('fails on a gated repo without a token with HTTP 401, the URL and the advice to set HF_TOKEN', async () => {
    hub.repos.set('org/gated', { ...bertRepo(), token: 'hf_right' });
    await assert.rejects(resolveModel('org/gated', options()), (e: Error) => {
      assert.match(e.message, /HTTP 401/);
      assert.ok(e.message.includes(`${hub.endpoint}/org/gated/resolve/main/config.json`), e.message);
      assert.match(e.message, /gated.*HF_TOKEN/);
      return true;
    });
    assert.ok(!fs.existsSync(path.join(cacheDir, 'models--org--gated', 'refs', 'main')));
  });

  it('fails on an unknown repo with HTTP 404 and the advice to check the id', async () => {
    await assert.rejects(resolveModel('org/no-such-model', options()), /HTTP 404.*check the model id/);
  });

  it('refuses a repo that has only pytorch_model.bin, saying unpickling can run code and how to convert', async () => {
    const repo = bertRepo();
    repo.files['pytorch_model.bin'] = repo.files['model.safetensors'];
    delete repo.files['model.safetensors'];
    hub.repos.set('org/pickled', repo);
    await assert.rejects(resolveModel('org/pickled', options()), /pytorch_model\.bin.*unpickling can run arbitrary code.*safetensors/s);
    assert.equal(hub.requestsFor('org/pickled', 'pytorch_model.bin').filter((r) => r.method === 'GET').length, 0, 'the pickle was downloaded');
  });

  it('refuses an invalid id before any request', async () => {
    for (const bad of ['org/../x', 'a--b', 'a/b/c', 'bad id']) {
      await assert.rejects(resolveModel(bad, options()), /neither a model folder on disk nor a valid Hugging Face model id/, bad);
    }
    await assert.rejects(resolveModel('../not-here', options()), /model folder .* does not exist/);
    assert.equal(hub.log.length, 0);
  });

  it('resolves an existing folder to itself without any request', async () => {
    const folder = fs.mkdtempSync(path.join(cacheDir, 'local-model-'));
    const resolved = await resolveModel(folder, options());
    assert.deepEqual([resolved.dir, resolved.source], [folder, 'local']);
    assert.equal(hub.log.length, 0);
  });

  it('cancels on abort mid-file, keeps the partial file, and the next call resumes it with Range', async () => {
    const repo = bertRepo(128 * 1024);
    hub.repos.set('org/abort', repo);
    hub.stallOnce.add('org/abort/model.safetensors');
    const controller = new AbortController();
    const onProgress = (e: HubProgressEvent) => {
      if (e.file === 'model.safetensors' && e.phase === 'progress' && e.loaded > 0) controller.abort();
    };
    const started = Date.now();
    await assert.rejects(resolveModel('org/abort', options({ signal: controller.signal, onProgress })), { name: 'AbortError' });
    assert.ok(Date.now() - started < 5000, 'abort did not end the stalled download promptly');
    const snapshot = path.join(cacheDir, 'models--org--abort', 'snapshots', repo.commit);
    const partial = hub.sentBeforeBreak.get('org/abort/model.safetensors')!;
    assert.ok(!fs.existsSync(path.join(snapshot, 'model.safetensors')), 'an aborted file appeared under its final name');
    assert.equal(fs.statSync(path.join(snapshot, 'model.safetensors.incomplete')).size, partial);

    const resolved = await resolveModel('org/abort', options());
    const gets = hub.requestsFor('org/abort', 'model.safetensors').filter((r) => r.method === 'GET');
    assert.deepEqual(gets.map((r) => r.range), [null, `bytes=${partial}-`]);
    assert.ok(fs.readFileSync(path.join(resolved.dir, 'model.safetensors')).equals(repo.files['model.safetensors']));
  });

  it('emits progress events in order per file: initiate, download, progress (rising to total), done', async () => {
    const repo = bertRepo(32 * 1024);
    hub.repos.set('org/progress', repo);
    const events: HubProgressEvent[] = [];
    await resolveModel('org/progress', options({ onProgress: (e) => events.push(e) }));
    assert.ok(events.every((e) => e.model === 'org/progress'));
    const files = [...new Set(events.map((e) => e.file))];
    assert.deepEqual(files.slice(0, 2), ['config.json', 'model.safetensors'], 'config first, then the weights');
    for (const [file, bytes] of Object.entries(repo.files)) {
      const own = events.filter((e) => e.file === file);
      const phases = own.map((e) => e.phase).filter((p, i, all) => p !== 'progress' || all[i - 1] !== 'progress');
      assert.deepEqual(phases, ['initiate', 'download', 'progress', 'done'], file);
      const loaded = own.filter((e) => e.phase === 'progress').map((e) => e.loaded);
      assert.deepEqual(loaded, [...loaded].sort((a, b) => a - b), `${file}: progress went backwards`);
      assert.equal(loaded[loaded.length - 1], bytes.length);
      assert.deepEqual(own[own.length - 1], { phase: 'done', model: 'org/progress', file, loaded: bytes.length, total: bytes.length });
    }
    const missing = events.filter((e) => e.file === 'merges.txt').map((e) => e.phase);
    assert.deepEqual(missing, ['initiate', 'done'], 'a file the repo lacks starts and ends, with nothing between');
  });

  it('shares one in-flight download between concurrent resolves of the same model', async () => {
    hub.repos.set('org/shared', bertRepo(64 * 1024));
    const [a, b] = await Promise.all([resolveModel('org/shared', options()), resolveModel('org/shared', options())]);
    assert.equal(a.dir, b.dir);
    for (const file of ['config.json', 'model.safetensors', 'vocab.txt']) {
      assert.equal(hub.requestsFor('org/shared', file).filter((r) => r.method === 'GET').length, 1, `${file} fetched twice`);
    }
  });

  it('rejects a file whose sha256 differs from X-Linked-Etag and leaves nothing under its final name', async () => {
    const repo = { ...bertRepo(), lfs: ['model.safetensors'] };
    hub.repos.set('org/corrupt', repo);
    hub.wrongHash.add('org/corrupt/model.safetensors');
    await assert.rejects(resolveModel('org/corrupt', options()), /sha256 .* differs from the Hub's/);
    const snapshot = path.join(cacheDir, 'models--org--corrupt', 'snapshots', repo.commit);
    assert.ok(!fs.existsSync(path.join(snapshot, 'model.safetensors')));
    assert.ok(!fs.existsSync(path.join(snapshot, 'model.safetensors.incomplete')));
    hub.wrongHash.delete('org/corrupt/model.safetensors');
  });

  it('rejects a plain file whose git blob sha1 differs from its ETag', async () => {
    hub.repos.set('org/bad-etag', bertRepo());
    hub.wrongHash.add('org/bad-etag/config.json');
    await assert.rejects(resolveModel('org/bad-etag', options()), /git blob sha1 .* differs from the Hub's ETag/);
    hub.wrongHash.delete('org/bad-etag/config.json');
  });

  it('says "offline", names the URL and says to give a folder when the Hub cannot be reached', async () => {
    const closed = await FakeHub.start();
    const endpoint = closed.endpoint;
    await closed.close();
    await assert.rejects(resolveModel('org/any', options({ endpoint, retries: 1 })), (e: Error) => {
      assert.match(e.message, /^offline: the Hub cannot be reached at /);
      assert.ok(e.message.includes(`${endpoint}/org/any/resolve/main/config.json`), e.message);
      assert.match(e.message, /put the model folder on disk and give its path/);
      return true;
    });
  });

  it('reads a huggingface_hub-style cache (blobs/ + relative symlinks, no .no_exist markers) offline without a request', async function () {
    const repo = bertRepo(1024);
    const repoDir = path.join(cacheDir, 'models--org--from-python');
    const snapshot = path.join(repoDir, 'snapshots', repo.commit);
    fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    fs.mkdirSync(snapshot, { recursive: true });
    fs.mkdirSync(path.join(repoDir, 'refs'));
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), repo.commit + '\n');
    for (const [name, bytes] of Object.entries(repo.files)) {
      const blob = path.join(repoDir, 'blobs', `blob-${name}`);
      fs.writeFileSync(blob, bytes);
      try {
        fs.symlinkSync(path.relative(snapshot, blob), path.join(snapshot, name));
      } catch {
        this.skip(); // symlinks need extra rights (Windows without developer mode)
      }
    }
    hub.repos.set('org/from-python', repo);
    const resolved = await resolveModel('org/from-python', options({ offline: true }));
    assert.deepEqual([resolved.dir, resolved.source, resolved.commit], [snapshot, 'cache', repo.commit]);
    assert.ok(fs.readFileSync(path.join(resolved.dir, 'model.safetensors')).equals(repo.files['model.safetensors']));
    assert.equal(hub.log.length, 0);
    // Online, only the tokenizer files it cannot vouch for are asked about; nothing present is fetched again.
    await resolveModel('org/from-python', options());
    const gets = hub.log.filter((r) => r.method === 'GET').map((r) => r.file).sort();
    assert.deepEqual(gets, ['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'vocab.json']);
  });

  it('in offline mode fails for a model not in the cache without a request', async () => {
    hub.repos.set('org/never', bertRepo());
    await assert.rejects(resolveModel('org/never', options({ offline: true })), /offline .*not in the cache/);
    await assert.rejects(resolveModel('org/never', options({ env: { HF_HUB_OFFLINE: '1' } })), /offline/);
    assert.equal(hub.log.length, 0);
  });
});
