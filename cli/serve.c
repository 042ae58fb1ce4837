/* Placeholder until the HTTP service lands (issue 4): refuses clearly instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cli_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "faceup serve: not built in this version\n");
    return 2;
}
