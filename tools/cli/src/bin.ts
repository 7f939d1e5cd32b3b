#!/usr/bin/env node
import "reflect-metadata";
import { main } from "./cli.js";

process.exitCode = await main(process.argv.slice(2));
