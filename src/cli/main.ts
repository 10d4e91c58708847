#!/usr/bin/env node
import { main } from './program.js';

const exitCode = await main(process.argv);
// Exit explicitly: the WASM backend keeps handles open.
process.exit(exitCode);
