/*
 * main.c - `faceup`: dispatch to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "faceup.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: faceup <command> [options] FILE...\n"
            "\n"
            "Decide from the pixels how face photos are turned (0/90/180/270 degrees clockwise)\n"
            "and hand them back upright.\n"
            "\n"
            "commands:\n"
            "  detect   report how each image is turned (--json for one JSON object per line)\n"
            "  fix      write upright copies, losslessly where the format allows\n"
            "  serve    run the HTTP service\n"
            "\n"
            "Run 'faceup <command> --help' for the options of a command.\n"
            "  --version   print the version and the embedded model, then exit\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("faceup %s (model %s, sha256 %s)\n", faceup_version(), faceup_model_name(),
               faceup_model_sha256());
        return 0;
    }
    if (!strcmp(cmd, "detect"))
        return cli_detect(argc - 1, argv + 1);
    if (!strcmp(cmd, "fix"))
        return cli_fix(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return cli_serve(argc - 1, argv + 1);
    fprintf(stderr, "faceup: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
