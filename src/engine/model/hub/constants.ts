/**
 * Fixed names of the Hugging Face Hub protocol and cache layout, as used by huggingface_hub and transformers.js.
 */

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

/** A Hub repo id: `name` or `org/name`; word characters, `.` and `-`, at most 96 each (huggingface_hub's rule). */
export const REPO_ID_PATTERN = /^(?:[A-Za-z0-9_][\w.-]{0,95}\/)?[A-Za-z0-9_][\w.-]{0,95}$/;

/** A full git commit hash: a revision of this form names its snapshot folder directly. */
export const COMMIT_HASH_PATTERN = /^[0-9a-f]{40}$/;

/** Required first: it names the architecture (and proves the repo and revision exist). */
export const CONFIG_FILE = 'config.json';
export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';
/** Pickled PyTorch weights: refused, because unpickling can run arbitrary code. */
export const PICKLE_WEIGHT_FILES = ['pytorch_model.bin', 'pytorch_model.bin.index.json'] as const;

/** Tokenizer files fetched when the repo has them; a 404 on any of them is fine. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
] as const;

/** Sets of tokenizer files, any one of which `loadTokenizer` can build a tokenizer from. */
export const USABLE_TOKENIZER_SETS: readonly (readonly string[])[] = [
  ['tokenizer.json'],
  ['vocab.txt'],
  ['vocab.json', 'merges.txt'],
];

/** Suffix of a partial download, kept on failure or abort so that the next attempt resumes with a Range request. */
export const INCOMPLETE_SUFFIX = '.incomplete';

/** What each HTTP status means for a Hub file request, and what the user should do about it. */
export const STATUS_ADVICE: Record<number, string> = {
  400: 'the request was malformed: check the model id, revision and file name',
  401: 'the repo is gated or private, or does not exist: check the id, and for a gated or private repo set HF_TOKEN to a token that has access',
  403: 'access is denied: the repo is gated or private; accept its terms on the Hub and set HF_TOKEN to a token that has access',
  404: 'not found: check the model id and revision',
  416: 'the server refused the byte range of a resumed download: delete the .incomplete file and run again',
  429: 'the Hub is rate-limiting requests: wait a minute and run again, or set HF_TOKEN',
  500: 'the Hub had an internal error: run again later',
  502: 'the Hub (or a proxy in front of it) is unavailable: run again later',
  503: 'the Hub is unavailable: run again later',
  504: 'the Hub timed out: run again later',
};

/** `X-Error-Code` values the Hub sends with 401/403/404, each with a precise cause. */
export const HUB_ERROR_CODE_ADVICE: Record<string, string> = {
  RepoNotFound: 'the repo does not exist, or it is private: check the model id, and for a private repo set HF_TOKEN',
  GatedRepo: 'the repo is gated: accept its terms on the Hub and set HF_TOKEN to a token of that account',
  RevisionNotFound: 'the revision does not exist: check the revision (branch, tag or commit hash)',
  EntryNotFound: 'the file does not exist in this revision',
};
