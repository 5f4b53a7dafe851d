/**
 * Label words → vocabulary ids (LM-BFF `FewShotDataset.__init__`, §1.3 of the reference notes).
 *
 * A word whose first character is not one of `<`, `[`, `.`, `,` is tokenised with a space in front and must give
 * exactly one token: for RoBERTa " great" → Ġgreat (the word as it appears mid-sentence); for BERT the space changes
 * nothing, so "great" → great. A word starting with one of those four characters (e.g. "<mask>", "[UNK]", ".") is
 * looked up as a raw vocabulary token. Ids come back in the order of `words` (the task's class order).
 *
 * Causal models use the same rule: the label word is the token that follows the prompt ("…It was" → " great"), so
 * it is the one token of " " + word: Ġgreat for the byte-level BPEs (GPT-2, Pythia, SmolLM, Qwen2, Llama 3), ▁great
 * for SentencePiece (Llama 2, TinyLlama, Mistral; encoded without the dummy prefix, so the space gives the one "▁").
 *
 * Checks beyond LM-BFF: a word that maps to the unknown token, an empty word, and two classes with one word
 * (LM-BFF accepts both silently; the classes would then be indistinguishable).
 */
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { TemplateError } from './template-error';

const RAW_LOOKUP_FIRST_CHARS = ['<', '[', '.', ','];

function labelError(message: string, word: string, index: number, hint: string): TemplateError {
  return new TemplateError(message, 0, word.length, hint, 'labelWord', index);
}

/** The vocabulary id of one label word (see the file comment); `index` is its class index, for errors. */
export function labelWordId(tokenizer: TextTokenizer, word: string, index = 0): number {
  if (word.length === 0) {
    throw labelError(`Label word ${index} is empty.`, word, index, 'Give every class a word, e.g. great / terrible.');
  }
  if (RAW_LOOKUP_FIRST_CHARS.includes(word[0])) {
    const id = tokenizer.tokenToId(word);
    if (id === undefined) {
      throw labelError(
        `Label word ${JSON.stringify(word)} starts with "${word[0]}", so it is looked up as a raw vocabulary token, and the vocabulary has no such token.`,
        word, index, 'Use a token that is in the vocabulary, or a word that does not start with <, [, . or ,',
      );
    }
    return id;
  }
  const spaced = tokenizer.kind !== 'wordpiece';
  const ids = spaced ? tokenizer.encodeContinuation(' ' + word) : tokenizer.encode(word);
  const pieces = ids.map((id) => tokenizer.idToToken(id) ?? `#${id}`);
  if (ids.length !== 1) {
    const shown = spaced ? `" ${word}"` : JSON.stringify(word);
    const form =
      tokenizer.kind === 'bpe' ? ' (its "Ġ" form must be a vocabulary entry)'
        : tokenizer.kind === 'sentencepiece' ? ' (its "▁" form must be a vocabulary entry)'
          : ' (it must be a whole entry of vocab.txt)';
    throw labelError(
      `Label word ${JSON.stringify(word)} is ${ids.length} tokens for this tokenizer (${shown} → ${pieces.join(' | ') || 'nothing'}); ` +
        `the model predicts one token ${tokenizer.causal ? 'after the prompt' : 'at the mask'}.`,
      word, index,
      `Choose a single-token synonym${form}, e.g. a shorter, more common word.`,
    );
  }
  const unkId = tokenizer.causal ? tokenizer.causal.unkId : tokenizer.unkId;
  if (unkId !== undefined && ids[0] === unkId) {
    throw labelError(
      `Label word ${JSON.stringify(word)} is not in the vocabulary (it becomes ${pieces[0]}).`,
      word, index, 'Choose a word the vocabulary has (check the casing: uncased BERT vocabularies are lower-case).',
    );
  }
  return ids[0];
}

/** Ids of the label words in class order; two classes may not share a word. */
export function labelWordIds(tokenizer: TextTokenizer, words: readonly string[]): number[] {
  const ids = words.map((w, i) => labelWordId(tokenizer, w, i));
  ids.forEach((id, i) => {
    const first = ids.indexOf(id);
    if (first !== i) {
      throw labelError(
        `Classes ${first} and ${i} have the same label word (${JSON.stringify(words[first])} and ${JSON.stringify(words[i])} are both token ${tokenizer.idToToken(id)}).`,
        words[i], i, 'Give each class a different word; the model tells classes apart only by the word predicted at the mask.',
      );
    }
  });
  return ids;
}
