#!/usr/bin/env node
// twill-cni as an ES module: the program is client.cjs (a CommonJS entry, so the served path
// starts without the ESM loader; the installed wrapper runs it); this file runs the same.
import './client.cjs';
