/** How to point each client at this gateway, filled with its origin and a key. */
export function snippets(origin: string, key: string): { id: string; title: string; code: string }[] {
  return [
    {
      id: 'curl',
      title: 'curl',
      code: `curl ${origin}/v1/chat/completions \\
  -H "authorization: Bearer ${key}" \\
  -H "content-type: application/json" \\
  -d '{"model":"claude-fast","messages":[{"role":"user","content":"Hello"}]}'`,
    },
    {
      id: 'openai-js',
      title: 'OpenAI SDK (JavaScript)',
      code: `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${origin}/v1', apiKey: '${key}' });
const reply = await client.chat.completions.create({
  model: 'claude-fast',
  messages: [{ role: 'user', content: 'Hello' }],
});
console.log(reply.choices[0].message.content);`,
    },
    {
      id: 'openai-py',
      title: 'OpenAI SDK (Python)',
      code: `from openai import OpenAI

client = OpenAI(base_url="${origin}/v1", api_key="${key}")
reply = client.chat.completions.create(model="claude-fast", messages=[{"role": "user", "content": "Hello"}])
print(reply.choices[0].message.content)`,
    },
    {
      id: 'anthropic',
      title: 'Anthropic SDK (JavaScript)',
      code: `import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({ baseURL: '${origin}', apiKey: '${key}' });
const message = await client.messages.create({
  model: 'claude-haiku-4-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Hello' }],
});`,
    },
    {
      id: 'claude-code',
      title: 'Claude Code',
      code: `export ANTHROPIC_BASE_URL=${origin}
export ANTHROPIC_API_KEY=${key}
claude`,
    },
    {
      id: 'cursor',
      title: 'Cursor / Continue (OpenAI-compatible provider)',
      code: `Base URL:  ${origin}/v1
API key:   ${key}
Model:     claude-fast  (or any alias, service/model, or model name)`,
    },
  ];
}
