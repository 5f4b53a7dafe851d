/**
 * What to complete where in a `*.ntk.yaml` file. Pure (no vscode). Keys and enum values come from the JSON Schema
 * (schemas/ntk.schema.json) when it is given, else from the built-in lists below; template pieces are LM-BFF's.
 */
export interface CompletionSuggestion {
  label: string;
  kind: 'key' | 'value' | 'piece';
  insertText: string;
  detail?: string;
}

export const TEMPLATE_PIECES: { piece: string; detail: string }[] = [
  { piece: 'cls', detail: 'the [CLS] / <s> token' },
  { piece: 'mask', detail: 'the mask whose label-word logits are the prediction' },
  { piece: 'sep', detail: 'the [SEP] / </s> token' },
  { piece: 'sep+', detail: 'sep, then segment id + 1' },
  { piece: 'sent_0', detail: 'first sentence' },
  { piece: '+sent_0', detail: 'first sentence with a leading space' },
  { piece: 'sent-_0', detail: 'first sentence without its last character' },
  { piece: 'sentl_0', detail: 'first sentence, first letter lower-cased' },
  { piece: '+sentl_0', detail: 'lower-cased first letter, leading space' },
  { piece: 'sentl-_0', detail: 'lower-cased first letter, last character dropped' },
  { piece: 'sentu_0', detail: 'first sentence, first letter upper-cased' },
  { piece: '+sentu_0', detail: 'upper-cased first letter, leading space' },
  { piece: 'sent_1', detail: 'second sentence (pair tasks)' },
  { piece: '+sent_1', detail: 'second sentence with a leading space' },
  { piece: 'sentl_1', detail: 'second sentence, first letter lower-cased' },
  { piece: '+sentl_1', detail: 'second sentence, lower-cased, leading space' },
];

const FALLBACK_TOP_KEYS = ['task', 'data', 'shots', 'seeds', 'model', 'max_length', 'finetune', 'kernel', 'templates', 'columns', 'labels', 'files'];
export const TASK_NAMES = ['SST-2', 'sst-5', 'mr', 'cr', 'mpqa', 'subj', 'trec', 'agnews', 'MNLI', 'SNLI', 'QNLI', 'RTE', 'MRPC', 'QQP', 'custom'];

interface JsonSchema { properties?: Record<string, JsonSchema & { description?: string; enum?: unknown[] }>; description?: string; enum?: unknown[]; anyOf?: JsonSchema[]; oneOf?: JsonSchema[] }

function enumOf(s: JsonSchema | undefined): string[] {
  if (!s) return [];
  const own = (s.enum ?? []).map(String);
  return [...own, ...(s.anyOf ?? []).flatMap(enumOf), ...(s.oneOf ?? []).flatMap(enumOf)];
}

/**
 * Suggestions at (line, character), 0-based. Inside a `*...` template piece (after an odd number of `*` on a
 * `template:` line) → pieces; at a top-level key position → keys; after `task:` → task names; after another top-level
 * key with an enum in the schema → its values.
 */
export function suggestionsAt(text: string, line: number, character: number, schema?: JsonSchema): CompletionSuggestion[] {
  const lineText = text.split(/\r?\n/)[line] ?? '';
  const before = lineText.slice(0, character);
  const templateValue = /^\s*(?:-\s+)?template:\s*["']?(.*)$/.exec(before);
  if (templateValue) {
    const stars = (templateValue[1].match(/\*/g) ?? []).length;
    if (stars % 2 === 1) {
      return TEMPLATE_PIECES.map(p => ({ label: `*${p.piece}*`, kind: 'piece', insertText: `${p.piece}*`, detail: p.detail }));
    }
    return [];
  }
  const valueOf = /^([A-Za-z_]+):\s*\S*$/.exec(before);
  if (valueOf) {
    const key = valueOf[1];
    const values = key === 'task' ? [...new Set([...TASK_NAMES, ...enumOf(schema?.properties?.task)])] : enumOf(schema?.properties?.[key]);
    return values.map(v => ({ label: v, kind: 'value', insertText: v }));
  }
  if (/^[A-Za-z_]*$/.test(before)) {
    const present = new Set([...text.matchAll(/^([A-Za-z_]+):/gm)].map(m => m[1]));
    const keys = schema?.properties ? Object.keys(schema.properties) : FALLBACK_TOP_KEYS;
    return keys
      .filter(k => !present.has(k))
      .map(k => ({ label: k, kind: 'key', insertText: `${k}: `, detail: schema?.properties?.[k]?.description }));
  }
  return [];
}
