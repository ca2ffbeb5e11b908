// One thread of the parallel throughput figure of bench/lint/run.ts: lints its share of the corpus (sent once in
// workerData) each time the main thread says go, and answers with the number of findings. The same production path
// as the single-thread figure (lintSource: parse + every rule).
import { parentPort, workerData } from 'node:worker_threads';
import { initParser, lintSource } from '../../src/lint';

const texts = (workerData as { texts: string[] }).texts;

void initParser().then(() => {
  parentPort!.on('message', (msg: 'go') => {
    if (msg !== 'go') return;
    let n = 0;
    for (const t of texts) n += lintSource(t).length;
    parentPort!.postMessage(n);
  });
  parentPort!.postMessage('ready');
});
