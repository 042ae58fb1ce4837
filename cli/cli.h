/*
 * cli/ - the `faceup` command: main.c dispatches to one file per subcommand (detect.c, fix.c,
 * serve.c, which hands over to server/), and those share options.c (numbers from the command
 * line), batch.c (parallel work, ordered output) and read_file.c. Includes only the public
 * faceup.h, server/server.h and base/strbuf.h (the one JSON string writer); no file includes
 * main.c's.
 *
 * cli.h - the subcommands of the faceup command line tool.
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand) and returns the process
 * exit status: 0 all inputs handled, 1 some input failed, 2 usage error.
 */
#ifndef FACEUP_CLI_H
#define FACEUP_CLI_H

int cli_detect(int argc, char **argv);
int cli_fix(int argc, char **argv);
int cli_serve(int argc, char **argv);

#endif
