// The official OpenAI SDK against a real llm-router process on the shipped default config.
// usage: node openai_sdk.test.mjs LLM_ROUTER_BIN CONFIG
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import OpenAI, { AzureOpenAI } from 'openai';

const [routerBin, configPath] = process.argv.slice(2);

function startRouter() {
  const child = spawn(routerBin, ['serve', '--config', configPath, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('router did not start')), 10000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/listening on .*:(\d+)$/);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`router exited with ${code}`)));
  });
}

async function run(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
    return true;
  } catch (error) {
    console.log(`not ok - ${name}: ${error.stack ?? error}`);
    return false;
  }
}

const { child, port } = await startRouter();
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'not-needed', maxRetries: 0 });

const results = [];
results.push(await run('non-stream chat completion', async () => {
  const completion = await client.chat.completions.create({
    model: 'auto',
    messages: [{ role: 'user', content: 'Say hello to the SDK test.' }],
  });
  assert.equal(completion.object, 'chat.completion');
  assert.ok(completion.choices[0].message.content.length > 0);
  assert.ok(completion.usage.completion_tokens > 0);
}));

results.push(await run('streamed chat completion', async () => {
  const stream = await client.chat.completions.create({
    model: 'auto',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Stream a short answer.' }],
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  for await (const chunk of stream) {
    chunks += 1;
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks > 2, `expected several chunks, got ${chunks}`);
  assert.ok(text.length > 0);
  assert.ok(usage && usage.completion_tokens > 0);
}));

results.push(await run('raw response carries the routing decision', async () => {
  const { response } = await client.chat.completions
    .create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.ok(response.headers.get('x-llm-router-backend'));
  assert.equal(response.headers.get('x-llm-router-route'), 'auto');
  assert.ok(response.headers.get('x-request-id'));
}));

results.push(await run('unknown model surfaces as NotFoundError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    (error) => error instanceof OpenAI.NotFoundError && error.code === 'model_not_found',
  );
}));

results.push(await run('models list', async () => {
  const models = [];
  for await (const model of client.models.list()) models.push(model.id);
  assert.ok(models.includes('auto'));
}));

results.push(await run('n choices, plain and streamed', async () => {
  const plain = await client.chat.completions.create({ model: 'auto', n: 2, messages: [{ role: 'user', content: 'two please' }] });
  assert.deepEqual(plain.choices.map((c) => c.index), [0, 1]);
  const stream = client.chat.completions.stream({ model: 'auto', n: 2, messages: [{ role: 'user', content: 'two please' }] });
  const done = await stream.finalChatCompletion();
  assert.equal(done.choices.length, 2);
  assert.ok(done.choices.every((c) => c.message.content.length > 0));
}));

results.push(await run('models retrieve', async () => {
  const model = await client.models.retrieve('auto');
  assert.equal(model.id, 'auto');
  await assert.rejects(client.models.retrieve('no-such-model'), (error) => error instanceof OpenAI.NotFoundError);
}));

results.push(await run('embeddings', async () => {
  // The SDK asks for base64 by default and decodes it to float32s.
  const result = await client.embeddings.create({ model: 'mock-small', input: ['a', 'b'] });
  assert.equal(result.data.length, 2);
  const floats = await client.embeddings.create({ model: 'mock-small', input: ['a', 'b'], encoding_format: 'float' });
  assert.equal(result.data[0].embedding.length, floats.data[0].embedding.length);
  result.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - floats.data[0].embedding[i]) < 1e-6));
  await assert.rejects(client.embeddings.create({ model: 'mock-small', input: [] }),
                       (error) => error instanceof OpenAI.BadRequestError && error.param === 'input');
}));

results.push(await run('responses API: whole answer and stream', async () => {
  const response = await client.responses.create({
    model: 'auto', instructions: 'Answer briefly.', input: 'Say hello to the Responses API.',
  });
  assert.equal(response.object, 'response');
  assert.equal(response.status, 'completed');
  assert.ok(response.output_text.length > 0);
  assert.ok(response.usage.output_tokens > 0);

  const stream = await client.responses.create({ model: 'auto', input: 'Stream a short answer.', stream: true });
  let deltas = '';
  let completed = null;
  for await (const event of stream) {
    if (event.type === 'response.output_text.delta') deltas += event.delta;
    if (event.type === 'response.completed') completed = event.response;
  }
  assert.ok(deltas.length > 0);
  assert.equal(completed.output[0].content[0].text, deltas);
  assert.ok(completed.usage.total_tokens > 0);

  // The SDK's stream helper checks the order of the events as it accumulates them.
  const helper = client.responses.stream({ model: 'auto', input: [{ role: 'user', content: 'Once more.' }] });
  const final = await helper.finalResponse();
  assert.equal(final.status, 'completed');
  assert.ok(final.output[0].content[0].text.length > 0);
}));

results.push(await run('responses API: function tools round trip', async () => {
  const tools = [{
    type: 'function', name: 'get_weather', description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  }];
  const input = [{ role: 'user', content: 'What is the weather in Paris? Use the tool.' }];
  const first = await client.responses.create({ model: 'auto', input, tools, tool_choice: 'required' });
  const call = first.output.find((item) => item.type === 'function_call');
  assert.ok(call, JSON.stringify(first.output));
  assert.equal(call.name, 'get_weather');
  assert.equal(typeof JSON.parse(call.arguments), 'object');
  const second = await client.responses.create({
    model: 'auto', tools,
    input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temp_c":21}' }],
  });
  assert.ok(second.output_text.length > 0);

  const streamed = client.responses.stream({ model: 'auto', input, tools, tool_choice: 'required' });
  const final = await streamed.finalResponse();
  assert.equal(final.output.find((item) => item.type === 'function_call').name, 'get_weather');
}));

results.push(await run('responses API: structured output and refused stateful fields', async () => {
  const response = await client.responses.create({
    model: 'auto', input: 'Give me a user record.',
    text: { format: { type: 'json_schema', name: 'user', strict: true, schema: {
      type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } },
      required: ['name', 'age'], additionalProperties: false } } },
  });
  const parsed = JSON.parse(response.output_text);
  assert.equal(typeof parsed.name, 'string');
  assert.equal(typeof parsed.age, 'number');
  await assert.rejects(client.responses.retrieve(response.id), (error) => error instanceof OpenAI.NotFoundError);
  await assert.rejects(client.responses.cancel(response.id), (error) => error instanceof OpenAI.NotFoundError);
  await assert.rejects(client.responses.delete(response.id), (error) => error instanceof OpenAI.NotFoundError);
  await assert.rejects(
    client.responses.create({ model: 'auto', input: 'again', previous_response_id: response.id }),
    (error) => error instanceof OpenAI.BadRequestError && error.param === 'previous_response_id' &&
      typeof error.requestID === 'string' && error.requestID.length > 0);
}));

results.push(await run('Azure OpenAI client: deployment paths and the api-key header', async () => {
  const azure = new AzureOpenAI({
    endpoint: `http://127.0.0.1:${port}`,
    apiKey: 'not-needed',
    apiVersion: '2024-10-21',
    maxRetries: 0,
  });
  const completion = await azure.chat.completions.create({
    model: 'auto',
    messages: [{ role: 'user', content: 'hello from an Azure client' }],
  });
  assert.equal(completion.object, 'chat.completion');
  assert.ok(completion.choices[0].message.content.length > 0);
  const stream = await azure.chat.completions.create({
    model: 'mock-small',
    stream: true,
    messages: [{ role: 'user', content: 'stream please' }],
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.ok(text.length > 0);
  // Azure's REST form: the deployment in the path, no model in the body.
  const bare = await fetch(
    `http://127.0.0.1:${port}/openai/deployments/mock-small/chat/completions?api-version=2024-10-21`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': 'not-needed' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
  assert.equal(bare.status, 200);
  assert.equal(bare.headers.get('x-llm-router-backend'), 'mock-small');
}));

child.kill('SIGTERM');
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
