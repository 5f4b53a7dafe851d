import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer, trainWordPiece, type TextTokenizer, type TokenizerJson } from '../../../../src/engine/tokenize';
import { tempDir } from './tiny-vocabs';

const vocabOf = (json: TokenizerJson): string[] => {
  const v = (json.model as { vocab: Record<string, number> }).vocab;
  const out: string[] = [];
  for (const [token, id] of Object.entries(v)) out[id] = token;
  return out;
};

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

describe('trainWordPiece: hand-worked merges', () => {
  it('"ab ab ab ac": alphabet, ## continuations, then the most frequent pair a+##b; stops below minFrequency', () => {
    const json = trainWordPiece(['ab ab ab ac'], { vocabSize: 12, lowercase: true, minFrequency: 2 });
    // alphabet a b c (code point order), then ##b and ##c as first met; (a,##b) ×3 → ab; (a,##c) ×1 < 2 → stop
    assert.deepEqual(vocabOf(json), [...SPECIALS, 'a', 'b', 'c', '##b', '##c', 'ab']);
  });

  it('"abab abab": equal counts merge the smaller id pair first, and ##a+##b gives ##ab', () => {
    const json = trainWordPiece(['abab abab'], { vocabSize: 12, lowercase: true, minFrequency: 1 });
    // a=5 b=6 ##b=7 ##a=8; pairs (a,##b) (##b,##a) (##a,##b) all ×2 → (5,7) first → ab;
    // then (##a,##b) and (ab,##a) ×2 → (8,7) → ##ab; then (ab,##ab) → abab
    assert.deepEqual(vocabOf(json), [...SPECIALS, 'a', 'b', '##b', '##a', 'ab', '##ab', 'abab']);
  });
});

describe('trainWordPiece: a small corpus, saved and loaded as tokenizer.json', () => {
  const corpus: string[] = [];
  for (let i = 0; i < 40; i++) corpus.push('The cat sat on the mat.', 'The dog sat on the log!', 'A cat and a dog.', 'Then the cat, the dog and a rat ran to the barn.');
  corpus.push('Zebras are rather unusual.');
  let json: TokenizerJson;
  let tok: TextTokenizer;

  before(async () => {
    json = trainWordPiece(corpus, { vocabSize: 56, lowercase: true, minFrequency: 2 });
    const dir = tempDir('trained');
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    tok = await loadTokenizer(dir);
  });

  it('writes a standard tokenizer.json: WordPiece model, BertNormalizer, BertPreTokenizer, TemplateProcessing, the 5 special tokens first', () => {
    assert.equal(json.model.type, 'WordPiece');
    assert.deepEqual(json.normalizer, { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true });
    assert.deepEqual(json.pre_tokenizer, { type: 'BertPreTokenizer' });
    assert.equal(json.post_processor?.type, 'TemplateProcessing');
    assert.deepEqual(json.added_tokens.map((t) => [t.id, t.content, t.special]), SPECIALS.map((s, i) => [i, s, true]));
    assert.equal(vocabOf(json).length, 56); // reached (this corpus runs out of pairs seen twice at 57)
  });

  it('loads through loadTokenizer with the special ids 0–4', () => {
    assert.equal(tok.kind, 'wordpiece');
    assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
    assert.equal(tok.vocabSize, 56);
  });

  it('makes frequent words single tokens', () => {
    for (const w of ['the', 'cat', 'sat', 'on', 'mat', 'dog', 'log', 'and']) {
      const ids = tok.encode(w);
      assert.equal(ids.length, 1, `${w} → ${ids.map((i) => tok.idToToken(i)).join(' ')}`);
      assert.equal(tok.idToToken(ids[0]), w);
    }
  });

  it('round-trips text through encode and decode (lower-cased)', () => {
    const text = 'The dog sat on the mat, a cat sat on the log!';
    const ids = tok.encode(text);
    assert.ok(!ids.includes(tok.unkId));
    assert.equal(tok.decode(ids), text.toLowerCase());
  });

  it('encodes an unseen word with a first piece and ## continuation pieces', () => {
    const pieces = tok.encode('catalog').map((i) => tok.idToToken(i)!);
    assert.ok(pieces.length > 1, pieces.join(' '));
    assert.ok(!pieces[0].startsWith('##') && pieces.slice(1).every((p) => p.startsWith('##')), pieces.join(' '));
    assert.equal(pieces.map((p, i) => (i === 0 ? p : p.slice(2))).join(''), 'catalog');
  });

  it('is deterministic', () => {
    assert.equal(JSON.stringify(trainWordPiece(corpus, { vocabSize: 56, lowercase: true, minFrequency: 2 })), JSON.stringify(json));
  });

  it('stops early when no pair reaches minFrequency, and keeps only the most frequent characters under limitAlphabet', () => {
    const rare = trainWordPiece(corpus, { vocabSize: 500, lowercase: true, minFrequency: 10_000 });
    assert.ok(vocabOf(rare).every((t) => [...t.replace(/^##/, '')].length === 1 || SPECIALS.includes(t)));
    const small = vocabOf(trainWordPiece(corpus, { vocabSize: 500, lowercase: true, minFrequency: 2, limitAlphabet: 5 }));
    const alphabet = small.slice(5).filter((t) => !t.startsWith('##') && [...t].length === 1);
    assert.equal(alphabet.length, 5);
    assert.ok(!small.includes('z') && small.includes('t'));
  });

  it('keeps case when lowercase is false', () => {
    const cased = vocabOf(trainWordPiece(['The the The'], { vocabSize: 30, lowercase: false, minFrequency: 1 }));
    assert.ok(cased.includes('The') && cased.includes('the'));
  });
});
