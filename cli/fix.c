/*
 * fix.c - `faceup fix` (being written).
 */
#include <stdio.h>

#include "cli.h"

int cli_fix(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "faceup fix: not implemented yet\n");
    return 2;
}
