import { runCli } from '../docker-cli';

runCli(process.argv.slice(2));
