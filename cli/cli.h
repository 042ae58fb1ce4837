/*
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

/* Number of online CPUs, at least 1. */
int cli_ncpu(void);

#endif
