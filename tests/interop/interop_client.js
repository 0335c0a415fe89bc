// A calcwire client in another language: Node.js with @grpc/grpc-js and
// @grpc/proto-loader, loading the repository's .proto files at run time (no
// generated code). It uploads a workbook through the gateway (client stream),
// follows its job with WatchJob (server stream) until it ends, lists the
// model's mismatches, and prints one JSON document on stdout.
//
//   node interop_client.js --target HOST:PORT --api-key KEY --protos DIR FILE
//
// Exit status: 0 when the job succeeded, 1 otherwise (the JSON says what
// happened; the reason is on stderr).
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const CHUNK_BYTES = 256 * 1024;
const FINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);

function parseArgs(argv) {
  const args = { timeoutSeconds: 120 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--target') args.target = argv[++i];
    else if (arg === '--api-key') args.apiKey = argv[++i];
    else if (arg === '--protos') args.protos = argv[++i];
    else if (arg === '--timeout') args.timeoutSeconds = Number(argv[++i]);
    else args.file = arg;
  }
  for (const name of ['target', 'apiKey', 'protos', 'file']) {
    if (!args[name]) throw new Error(`missing ${name}`);
  }
  return args;
}

function loadServices(protosDir) {
  // The google/protobuf well-known types (timestamp, struct, duration) come
  // with protobufjs; everything else is the repository's own .proto files.
  const definition = protoLoader.loadSync(
    [
      'calcwire/workbooks/v1/workbooks.proto',
      'calcwire/jobs/v1/jobs.proto',
      'calcwire/validation/v1/validation.proto',
    ],
    { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
      includeDirs: [protosDir] },
  );
  const loaded = grpc.loadPackageDefinition(definition);
  return {
    WorkbookService: loaded.calcwire.workbooks.v1.WorkbookService,
    JobService: loaded.calcwire.jobs.v1.JobService,
    ValidationService: loaded.calcwire.validation.v1.ValidationService,
  };
}

function upload(client, metadata, file) {
  const bytes = fs.readFileSync(file);
  return new Promise((resolve, reject) => {
    const call = client.UploadWorkbook(metadata, (error, response) =>
      error ? reject(error) : resolve(response));
    call.write({
      metadata: {
        file_name: path.basename(file),
        display_name: `interop ${path.basename(file)}`,
        request_id: crypto.randomUUID(),
        expected_size_bytes: bytes.length,
      },
    });
    let chunks = 0;
    for (let start = 0; start < bytes.length; start += CHUNK_BYTES) {
      call.write({ chunk: bytes.subarray(start, start + CHUNK_BYTES) });
      chunks++;
    }
    call.end();
    upload.chunks = chunks;
  });
}

function watch(client, metadata, job, timeoutSeconds) {
  return new Promise((resolve, reject) => {
    const events = [];
    let last = null;
    const call = client.WatchJob({ name: job }, metadata,
      { deadline: Date.now() + timeoutSeconds * 1000 });
    call.on('data', (message) => {
      const { event } = message;
      events.push({ sequence: event.sequence, state: event.state, stage: event.stage,
                    percent: event.percent });
      last = message.job;
      if (FINAL.has(last.state)) {
        call.cancel();
        resolve({ events, job: last });
      }
    });
    call.on('error', (error) => {
      if (last && FINAL.has(last.state)) return; // our own cancel after the end
      error.events = events;
      error.job = last;
      reject(error);
    });
    call.on('end', () => resolve({ events, job: last }));
  });
}

function listMismatches(client, metadata, model) {
  return new Promise((resolve, reject) => {
    client.ListMismatches({ parent: model, page_size: 1000 }, metadata,
      (error, response) => (error ? reject(error) : resolve(response)));
  });
}

function cellValue(value) {
  if (!value || !value.kind) return null;
  if (value.kind === 'error_value') return { error: value.error_value };
  if (value.kind === 'empty_value') return null;
  return value[value.kind];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const services = loadServices(args.protos);
  const credentials = grpc.credentials.createInsecure();
  const workbooks = new services.WorkbookService(args.target, credentials);
  const jobs = new services.JobService(args.target, credentials);
  const validation = new services.ValidationService(args.target, credentials);
  const metadata = new grpc.Metadata();
  metadata.add('authorization', `Bearer ${args.apiKey}`);

  const out = { client: `node ${process.version}` };
  try {
    const uploaded = await upload(workbooks, metadata, args.file);
    out.model = uploaded.model.name;
    out.job = uploaded.job.name;
    out.size_bytes = uploaded.model.size_bytes;
    out.sha256 = uploaded.model.sha256;
    out.chunks = upload.chunks;
    const watched = await watch(jobs, metadata, uploaded.job.name, args.timeoutSeconds);
    out.events = watched.events;
    out.final = watched.job && { state: watched.job.state, stage: watched.job.stage,
                                 percent: watched.job.percent, error: watched.job.error };
    if (!watched.job || watched.job.state !== 'JOB_STATE_SUCCEEDED') {
      throw new Error(`the job ended ${watched.job ? watched.job.state : 'without a state'}`);
    }
    const mismatches = await listMismatches(validation, metadata, uploaded.model.name);
    out.mismatches = {
      total_size: mismatches.total_size,
      results: mismatches.results.map((r) => ({
        sheet: r.sheet, address: r.address, formula: r.formula, cached: cellValue(r.cached),
        computed: cellValue(r.computed), status: r.status,
        absolute_difference: r.absolute_difference,
      })),
    };
  } catch (error) {
    out.error = { code: error.code === undefined ? null : grpc.status[error.code],
                  message: error.details || error.message };
    if (error.events) out.events = error.events;
    process.stdout.write(JSON.stringify(out) + '\n');
    process.stderr.write(`interop client: ${out.error.message}\n`);
    process.exitCode = 1;
    return;
  } finally {
    workbooks.close();
    jobs.close();
    validation.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
