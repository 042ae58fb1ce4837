/*
 * fix.c - `faceup fix FILE|DIR... (-o OUTDIR | --in-place | --dry-run)`
 *
 * The rule everything here serves: a user's file is never damaged. An input is only ever
 * replaced with --in-place, and then only by rename(2) of a complete, fsync'ed temporary file
 * written in the same folder, carrying the original's permissions and owner: at any instant the
 * path holds either the old bytes or the new ones. The temporary file has no name while it is
 * written (O_TMPFILE, where the file system allows), so a killed run leaves none behind. What a
 * rename cannot carry is refused unless --force says otherwise: an owner we may not give the
 * file back to, and hard links (the other names would keep the old image). When a write fails
 * (full disk, read-only folder), the temporary file is removed and the original stays. With -o,
 * an output that would land on its own input is refused.
 *
 * Work is shared like `detect` (batch.c): workers with one faceup handle each take the next
 * file; results are printed in input order as they are ready and, on a terminal, a progress
 * line. Ctrl-C (SIGINT) or SIGTERM stops handing out files; the files in hand are
 * finished (each is a fraction of a second) and the run ends with status 130. A second signal
 * removes the temporary files being written and exits at once.
 */
#define _GNU_SOURCE /* O_TMPFILE, with realpath() */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "batch.h"
#include "cli.h"
#include "faceup.h"
#include "options.h"
#include "read_file.h"
#include "words.h"

#define MAX_JOBS 256
#define MAX_DEPTH 64

/* ---- signals ---------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;        /* the first signal received, 0 before */
static char tmp_path[MAX_JOBS][PATH_MAX];        /* each worker's temporary file ... */
static volatile sig_atomic_t tmp_live[MAX_JOBS]; /* ... while it exists */

static void on_signal(int sig)
{
    if (!stop_signal) {
        stop_signal = sig;
        return;
    }
    for (int i = 0; i < MAX_JOBS; i++) /* unlink and _exit are async-signal-safe */
        if (tmp_live[i])
            unlink(tmp_path[i]);
    _exit(128 + sig);
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- the list of inputs ----------------------------------------------------------------- */

typedef struct item {
    char *path;   /* as given, or found under a folder */
    char *rel;    /* where it goes under OUTDIR; NULL: an error found while listing */
    char *error;
} item;

typedef struct list {
    item *v;
    int n, cap;
    dev_t out_dev;  /* OUTDIR, never walked into */
    ino_t out_ino;
    int have_out;
} list;

static int add(list *l, const char *path, const char *rel, const char *error)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        item *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    item *it = &l->v[l->n];
    it->path = strdup(path);
    it->rel = rel ? strdup(rel) : NULL;
    it->error = error ? strdup(error) : NULL;
    if (!it->path || (rel && !it->rel) || (error && !it->error))
        return -1;
    l->n++;
    return 0;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    static const char *const ext[] = {".jpg",  ".jpeg", ".jpe", ".png", ".webp",
                                      ".heic", ".heif", ".hif", ".avif", NULL};
    for (int i = 0; dot && ext[i]; i++)
        if (!strcasecmp(dot, ext[i]))
            return 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    int slash = na && a[na - 1] != '/';
    char *s = malloc(na + slash + nb + 1);
    if (s) {
        memcpy(s, a, na);
        if (slash)
            s[na] = '/';
        memcpy(s + na + slash, b, nb + 1);
    }
    return s;
}

/* The images under `dir` in name order, folders after walking into them; symbolic links, hidden
 * entries (our own temporary files among them) and OUTDIR are left out. */
static int walk(list *l, const char *dir, const char *rel, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return add(l, dir, NULL, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(names, cap * sizeof *v);
            if (!v) { rc = -1; break; }
            names = v;
        }
        if (!(names[n++] = strdup(e->d_name)))
            rc = -1;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char *path = rc == 0 ? join(dir, names[i]) : NULL;
        char *sub = path ? (*rel ? join(rel, names[i]) : strdup(names[i])) : NULL;
        struct stat st;
        if (!path || !sub) {
            rc = -1;
        } else if (lstat(path, &st) != 0) {
            rc = add(l, path, NULL, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (!(l->have_out && st.st_dev == l->out_dev && st.st_ino == l->out_ino))
                rc = depth >= MAX_DEPTH ? add(l, path, NULL, "folders nested too deep")
                                        : walk(l, path, sub, depth + 1);
        } else if (S_ISREG(st.st_mode) && is_image_name(names[i])) {
            rc = add(l, path, sub, NULL);
        }
        free(path);
        free(sub);
        free(names[i]);
    }
    free(names);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const list *sorting; /* qsort has no context argument */

static int by_output(const void *a, const void *b)
{
    const item *x = &sorting->v[*(const int *)a], *y = &sorting->v[*(const int *)b];
    int c = strcmp(x->rel, y->rel);
    return c ? c : *(const int *)a - *(const int *)b;
}

/* Two inputs with the same output path (a/x.jpg and b/x.jpg given as files): the later ones
 * become errors rather than overwrite the first one's output. */
static int refuse_collisions(list *l)
{
    int *ix = malloc(((size_t)l->n + 1) * sizeof *ix), m = 0;
    if (!ix)
        return -1;
    for (int i = 0; i < l->n; i++)
        if (l->v[i].rel)
            ix[m++] = i;
    sorting = l;
    qsort(ix, (size_t)m, sizeof *ix, by_output);
    for (int k = 1; k < m; k++)
        if (!strcmp(l->v[ix[k]].rel, l->v[ix[k - 1]].rel) && !l->v[ix[k]].error &&
            !(l->v[ix[k]].error = strdup("another input has the same output path"))) {
            free(ix);
            return -1;
        }
    free(ix);
    return 0;
}

/* With --format, the outputs under OUTDIR are named for their format: a/b.jpg -> a/b.png. */
static int rename_outputs(list *l, faceup_format format)
{
    static const char *const ext[] = {"", ".jpg", ".png", ".webp", ".heic", ".avif"};
    for (int i = 0; i < l->n && format != FACEUP_FORMAT_SAME; i++) {
        char *rel = l->v[i].rel;
        if (!rel)
            continue;
        const char *dot = strrchr(rel, '.'), *slash = strrchr(rel, '/');
        size_t stem = dot && dot > rel && (!slash || dot > slash + 1) ? (size_t)(dot - rel)
                                                                      : strlen(rel);
        char *named = malloc(stem + strlen(ext[format]) + 1);
        if (!named)
            return -1;
        memcpy(named, rel, stem);
        strcpy(named + stem, ext[format]);
        free(rel);
        l->v[i].rel = named;
    }
    return 0;
}

static int list_inputs(list *l, char **args, int n, int recursive)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        int rc;
        if (stat(args[i], &st) != 0)
            rc = add(l, args[i], NULL, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = recursive ? walk(l, args[i], "", 0)
                           : add(l, args[i], NULL, "is a folder (use -r to walk it)");
        else
            rc = add(l, args[i], base_name(args[i]), NULL);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- writing safely ---------------------------------------------------------------------- */

static int mkdirs(char *path) /* the folders above `path`, like mkdir -p */
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        int rc = mkdir(path, 0777);
        *s = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What write_atomic does about the owner of the file it replaces. */
enum owner { OWNER_OURS,    /* -o: a new file, ours */
             OWNER_KEEP,    /* --in-place: the original's owner and group, or nothing written */
             OWNER_TRY };   /* --in-place --force: theirs when we may give it, else ours */

/* Write, fsync, and give the file the permissions (and, as `owner` says, the owner) of `like`.
 * Returns 0, or -1 with *step naming what failed and errno set. */
static int fill(int fd, const unsigned char *data, size_t size, const struct stat *like,
                enum owner owner, const char **step)
{
    *step = "write";
    if (write_all(fd, data, size) != 0)
        return -1;
    *step = "fsync";
    if (fsync(fd) != 0)
        return -1;
    /* fchown before fchmod: a change of owner clears the set-user-ID and set-group-ID bits */
    *step = "chown";
    if (owner != OWNER_OURS && fchown(fd, like->st_uid, like->st_gid) != 0 &&
        owner == OWNER_KEEP)
        return -1;
    *step = "chmod";
    return fchmod(fd, like->st_mode & 07777);
}

/* The temporary name for `path` in tmp_path[slot]: ".NAME.faceup-" and a suffix, beside it.
 * With a suffix of X's (mkstemp's), else the given number. Returns 0, or -1 (too long). */
static int temp_name(int slot, const char *path, const char *suffix)
{
    const char *base = base_name(path);
    int n = snprintf(tmp_path[slot], PATH_MAX, "%.*s.%s.faceup-%s", (int)(base - path), path,
                     base, suffix);
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* A file with no name in the folder of `path` (O_TMPFILE), or -1 where the kernel or the file
 * system has none (the caller then writes a named temporary file). */
static int open_unnamed(const char *path)
{
#ifdef O_TMPFILE
    char dir[PATH_MAX];
    size_t len = (size_t)(base_name(path) - path);
    if (len >= sizeof dir)
        return -1;
    memcpy(dir, path, len);
    strcpy(dir + len, len ? "" : ".");
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
#else
    (void)path;
    return -1;
#endif
}

/* Give the unnamed file fd the name `path`: directly when nothing is there, else a temporary
 * name for the instant before rename(2) over it (linkat cannot replace). Returns 0, or -1 with
 * errno and *step. */
static int name_unnamed(int slot, int fd, const char *path, const char **step)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    *step = "link";
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    static atomic_uint counter;
    for (int tries = 0; tries < 16; tries++) {
        char suffix[32];
        snprintf(suffix, sizeof suffix, "%ld-%u", (long)getpid(), atomic_fetch_add(&counter, 1));
        if (temp_name(slot, path, suffix) != 0) {
            errno = ENAMETOOLONG;
            return -1;
        }
        tmp_live[slot] = 1;
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp_path[slot], AT_SYMLINK_FOLLOW) == 0) {
            *step = "rename";
            if (rename(tmp_path[slot], path) == 0) {
                tmp_live[slot] = 0;
                return 0;
            }
            int saved = errno;
            unlink(tmp_path[slot]);
            tmp_live[slot] = 0;
            errno = saved;
            return -1;
        }
        tmp_live[slot] = 0;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

/* The same through a named temporary file (mkstemp) that lives from its creation to the rename. */
static int write_named(int slot, const char *path, const unsigned char *data, size_t size,
                       const struct stat *like, enum owner owner, const char **step)
{
    *step = "create a temporary file";
    if (temp_name(slot, path, "XXXXXX") != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp_path[slot]);
    if (fd < 0)
        return -1;
    tmp_live[slot] = 1;
    int ok = fill(fd, data, size, like, owner, step) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
        *step = "close";
    }
    if (ok && rename(tmp_path[slot], path) != 0) {
        ok = 0;
        saved = errno;
        *step = "rename";
    }
    if (!ok)
        unlink(tmp_path[slot]);
    tmp_live[slot] = 0;
    errno = saved;
    return ok ? 0 : -1;
}

/* Replace `path` by `data` atomically, with the permissions (and, as `owner` says, the owner)
 * of `like`. The bytes go to a file with no name in the same folder (O_TMPFILE), fsync'ed, then
 * named: a killed run leaves nothing behind, save in the instant between link and rename when a
 * file is replaced. Where the file system has no O_TMPFILE, a named temporary file beside it
 * (tmp_path[slot], removed by a second signal). The data is on disk before the rename, so even
 * a power cut leaves the old bytes or the new ones at `path`. The folder is not fsync'ed: at
 * worst a crash undoes the rename and the old file is back, which costs a rerun, not a photo
 * (and saves a few milliseconds an image). On failure `path` is untouched; returns -1 with the
 * reason in err. */
static int write_atomic(int slot, const char *path, const unsigned char *data, size_t size,
                        const struct stat *like, enum owner owner, char *err, size_t errlen)
{
    const char *step = "";
    int rc, fd = open_unnamed(path);
    if (fd < 0) {
        rc = write_named(slot, path, data, size, like, owner, &step);
    } else {
        rc = fill(fd, data, size, like, owner, &step);
        if (rc == 0)
            rc = name_unnamed(slot, fd, path, &step);
        int saved = errno;
        close(fd);   /* the data was fsync'ed, or the file is gone with its descriptor */
        errno = saved;
        if (rc != 0 && errno == ENOENT && !strcmp(step, "link"))   /* no /proc mounted */
            rc = write_named(slot, path, data, size, like, owner, &step);
    }
    if (rc != 0 && !strcmp(step, "chown"))
        snprintf(err, errlen, "cannot keep its owner (uid %ld, gid %ld): %s; not replaced, "
                 "original untouched (--force replaces it as a file of yours)",
                 (long)like->st_uid, (long)like->st_gid, strerror(errno));
    else if (rc != 0)
        snprintf(err, errlen, "%s failed: %s (original untouched)", step, strerror(errno));
    return rc;
}

/* ---- one file ---------------------------------------------------------------------------- */

/* What happened to one input: the `action` of --json, and the counts of the summary. */
enum { UPRIGHT, ROTATED, UNDECIDED, FAILED, SKIPPED, LOSSY, EXIF_BAKED, N_OUTCOMES };
static const char *const outcome_name[] = {"upright", "rotated", "undecided", "error", "skipped",
                                           "needs_reencode", "exif_baked"};

typedef struct options {
    const char *outdir;
    int in_place, dry_run, json, keep_metadata, force, lossless_only;
    int exif_bake;   /* --exif bake (1) or keep (0) */
    int orientation; /* --orientation: the turn of every input, told; -1: detect it */
    faceup_format format; /* --format */
    double min_confidence;
    long long max_bytes, max_pixels, max_memory;
} options;

/* Everything the workers and the main thread share. */
typedef struct run {
    const options *opt;
    list *in;
    int counts[N_OUTCOMES];
    int tty;
    double t0, last;
} run;

/* The counter-clockwise turn the displayed image got: the orientation it had, once fixed. */
static int rotated_ccw(const faceup_fixed *f)
{
    return f ? (360 - f->rotated) % 360 : 0;
}

/* The `detect --json` object of the file, with what fix did added before its closing brace.
 * "rotated" (clockwise) and "path" are the deprecated names of rotated_ccw and method. */
static char *render_json(const options *opt, const item *it, const faceup_fixed *f, int outcome,
                         const char *dest, const char *err)
{
    char *base = faceup_result_json(f ? f->result : NULL, it->path, err);
    size_t n = base ? strlen(base) : 0;
    if (!base || n == 0 || base[n - 1] != '}') {
        free(base);
        return NULL;
    }
    faceup_fix_path path = f ? f->path : FACEUP_FIX_UNCHANGED;
    fu_strbuf b = {0};
    fu_strbuf_printf(&b, "%.*s,\"action\":\"%s\",\"rotated_ccw\":%d,\"exif_baked\":",
                     (int)(n - 1), base, outcome_name[outcome], rotated_ccw(f));
    if (f && f->exif_transform > 1)
        fu_strbuf_printf(&b, "%d", f->exif_transform);
    else
        fu_strbuf_printf(&b, "null");
    fu_strbuf_printf(&b, ",\"method\":\"%s\",\"dropped\":[", faceup_fix_path_str(path));
    for (unsigned bit = 1, n = 0; f && bit <= FACEUP_DROPPED_THUMBNAIL; bit <<= 1)
        if (f->dropped & bit)
            fu_strbuf_printf(&b, "%s\"%s\"", n++ ? "," : "", faceup_dropped_str((int)bit));
    fu_strbuf_printf(&b, "],\"dry_run\":%s,\"output\":", opt->dry_run ? "true" : "false");
    if (dest)
        fu_strbuf_json_string(&b, dest);
    else
        fu_strbuf_printf(&b, "null");
    fu_strbuf_printf(&b, ",\"rotated\":%d,\"path\":\"%s\"}", f ? f->rotated : 0,
                     path == FACEUP_FIX_REENCODED ? "reencoded" : faceup_fix_path_str(path));
    free(base);
    return fu_strbuf_take(&b);
}

/* What fix did, or would do, in words (words.h): "rotated 90 counter-clockwise, EXIF
 * Orientation 6 baked in, lossless". */
static void action_words(const options *opt, const faceup_fixed *f, int outcome, char *out,
                         size_t cap)
{
    const faceup_result *r = f->result;
    int n = 0;
    if (outcome == ROTATED)
        n = snprintf(out, cap, "%s %d counter-clockwise", opt->dry_run ? "would rotate"
                     : "rotated", rotated_ccw(f));
    else if (outcome == UNDECIDED && r->orientation != FACEUP_UNDECIDED)
        n = snprintf(out, cap, "confidence %.3f is under %.3f: not rotated", r->confidence,
                     opt->min_confidence);
    else
        n = snprintf(out, cap, "%s", outcome == EXIF_BAKED ? "" : "not rotated");
    if (n < 0 || (size_t)n >= cap)
        return;
    if (f->exif_transform > 1)
        n += snprintf(out + n, cap - (size_t)n, "%sEXIF Orientation %d %sbaked in", n ? ", " : "",
                      f->exif_transform, opt->dry_run ? "would be " : "");
    else if (r->exif_orientation > 1 && opt->keep_metadata && f->path != FACEUP_FIX_REENCODED)
        n += snprintf(out + n, cap - (size_t)n, ", EXIF Orientation %d kept",
                      r->exif_orientation);
    if (n >= 0 && (size_t)n < cap && f->path != FACEUP_FIX_UNCHANGED)
        n += snprintf(out + n, cap - (size_t)n, ", %s", cli_method_words(f->path));
    char dropped[160];
    if (n >= 0 && (size_t)n < cap && f->dropped)
        snprintf(out + n, cap - (size_t)n, "; dropped, as it would not be rotated with it: %s",
                 cli_dropped_words(f->dropped, dropped, sizeof dropped));
}

static char *render(const options *opt, const item *it, const faceup_fixed *f, int outcome,
                    const char *dest, const char *err)
{
    if (opt->json)
        return render_json(opt, it, f, outcome, dest, err);
    char line[PATH_MAX * 2 + 512], state[48], did[384];
    if (outcome == FAILED) {
        snprintf(line, sizeof line, "%s: error: %s", it->path, err);
        return strdup(line);
    }
    const faceup_result *r = f->result;
    char orient[32];
    cli_orientation_words(r->orientation, 0, orient, sizeof orient);
    if (outcome == UNDECIDED && r->orientation != FACEUP_UNDECIDED)
        snprintf(state, sizeof state, "undecided (%s?)", orient);
    else
        snprintf(state, sizeof state, "%s", orient);
    if (outcome == LOSSY)
        snprintf(did, sizeof did, "left as it is: %s needs a re-encode (lossy), refused by "
                 "--lossless-only", r->orientation > 0 ? "rotating it" : "baking in its EXIF "
                 "Orientation");
    else
        action_words(opt, f, outcome, did, sizeof did);
    snprintf(line, sizeof line, "%s: %s; %s%s%s", it->path, state, did, dest ? " -> " : "",
             dest ? dest : "");
    return strdup(line);
}

/* Where an output goes, refusing to land on the input itself. */
static int destination(const options *opt, const item *it, const struct stat *st, char *dest,
                       size_t cap, char *err, size_t errlen)
{
    if (opt->in_place) {
        if (!realpath(it->path, dest)) { /* a symbolic link: replace what it points to */
            snprintf(err, errlen, "%s", strerror(errno));
            return -1;
        }
        return 0;
    }
    if ((size_t)snprintf(dest, cap, "%s/%s", opt->outdir, it->rel) >= cap) {
        snprintf(err, errlen, "output path too long");
        return -1;
    }
    struct stat ost;
    if (stat(dest, &ost) == 0 && ost.st_dev == st->st_dev && ost.st_ino == st->st_ino) {
        snprintf(err, errlen, "the output would replace the input (use --in-place for that)");
        return -1;
    }
    return 0;
}

/* What --in-place may not replace, and why; 0 when it may. */
static int refuse_in_place(const options *opt, const struct stat *st, char *err, size_t errlen)
{
    if (!(st->st_mode & 0222))
        snprintf(err, errlen, "read-only file: not replaced");
    else if (st->st_nlink > 1 && !opt->force)
        snprintf(err, errlen, "has %ju hard links: replacing it would leave the old image under "
                 "the other names; not replaced (--force replaces this name only)",
                 (uintmax_t)st->st_nlink);
    else
        return 0;
    return -1;
}

/* Write f where it goes: 1 written (its path in dest), 0 nothing to write, -1 failed (err). */
static int deliver(int slot, const options *opt, const item *it, const faceup_fixed *f,
                   int outcome, const struct stat *st, char *dest, size_t cap, char *err,
                   size_t errlen)
{
    /* in place, only what changes is written; -o mirrors every image but those that
     * --lossless-only leaves out */
    if (opt->dry_run || (opt->in_place && f->path == FACEUP_FIX_UNCHANGED) || outcome == LOSSY)
        return 0;
    if (opt->in_place && refuse_in_place(opt, st, err, errlen))
        return -1;
    if (destination(opt, it, st, dest, cap, err, errlen))
        return -1;
    if (!opt->in_place && mkdirs(dest) != 0) {
        snprintf(err, errlen, "cannot create the folders of %s: %s", dest, strerror(errno));
        return -1;
    }
    enum owner owner = !opt->in_place ? OWNER_OURS : opt->force ? OWNER_TRY : OWNER_KEEP;
    return write_atomic(slot, dest, f->data, f->size, st, owner, err, errlen) ? -1 : 1;
}

static int fix_one(faceup *h, int slot, const options *opt, const item *it, char **line)
{
    char err[PATH_MAX + 256] = "", dest[PATH_MAX] = "";
    unsigned char *data = NULL;
    size_t size = 0;
    faceup_fixed *f = NULL;
    int outcome = FAILED, wrote = 0;
    struct stat st;
    if (it->error) {
        snprintf(err, sizeof err, "%s", it->error);
    } else if (cli_read_file(it->path, opt->max_bytes, &data, &size, &st, err, sizeof err) == 0) {
        int rc = opt->orientation >= 0
                     ? faceup_fix_orientation(h, data, size, opt->orientation, &f)
                     : faceup_fix(h, data, size, &f);
        if (rc != FACEUP_OK) {
            snprintf(err, sizeof err, "%s", fu_err_text(faceup_errmsg(h)));
        } else {
            const faceup_result *r = f->result;
            /* a change of format alone, or of metadata, is no rotation */
            int changed = f->path != FACEUP_FIX_UNCHANGED;
            outcome = f->reencode_refused ? LOSSY
                    : changed && f->rotated ? ROTATED
                    : changed && f->exif_transform > 1 ? EXIF_BAKED
                    : r->orientation == FACEUP_UNDECIDED || r->confidence < opt->min_confidence
                        ? UNDECIDED : UPRIGHT;
            int w = deliver(slot, opt, it, f, outcome, &st, dest, sizeof dest, err, sizeof err);
            if (w < 0)
                outcome = FAILED;
            wrote = w > 0;
        }
    }
    *line = render(opt, it, f, outcome, wrote ? dest : NULL, err);
    faceup_fixed_free(f);
    free(data);
    return outcome;
}

static void *open_handle(void *ctx, int slot)
{
    const options *opt = ((const run *)ctx)->opt;
    (void)slot;
    faceup *h = faceup_create();
    if (h) {
        faceup_set_param(h, FACEUP_PARAM_MIN_CONFIDENCE, opt->min_confidence);
        faceup_set_param(h, FACEUP_PARAM_MAX_PIXELS, (double)opt->max_pixels);
        faceup_set_param(h, FACEUP_PARAM_MAX_BYTES, (double)opt->max_bytes);
        faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, (double)opt->max_memory);
        faceup_set_param(h, FACEUP_PARAM_KEEP_METADATA, opt->keep_metadata);
        faceup_set_param(h, FACEUP_PARAM_LOSSLESS_ONLY, opt->lossless_only);
        faceup_set_param(h, FACEUP_PARAM_BAKE_EXIF, opt->exif_bake);
        faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, opt->format);
    }
    return h;
}

static void close_handle(void *h)
{
    faceup_destroy(h);
}

static char *run_one(void *ctx, void *h, int slot, int i, int *outcome)
{
    run *r = ctx;
    char *line = NULL;
    *outcome = h ? fix_one(h, slot, r->opt, &r->in->v[i], &line) : FAILED;
    return line;
}

/* ---- the command -------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void progress(void *ctx, int done_n, int total)
{
    run *r = ctx;
    if (!r->tty || now() - r->last <= 0.1)
        return;
    r->last = now();
    double dt = now() - r->t0, rate = dt > 0 ? done_n / dt : 0;
    int eta = rate > 0 ? (int)((total - done_n) / rate + 0.5) : 0;
    if (done_n == 0)
        fprintf(stderr, "\r\033[K0/%d", total);
    else
        fprintf(stderr, "\r\033[K%d/%d  %.1f images/s  ETA %d:%02d", done_n, total, rate,
                eta / 60, eta % 60);
    fflush(stderr);
}

static void emit(void *ctx, int i, char *line, int outcome)
{
    run *r = ctx;
    (void)i;
    if (r->tty)
        fprintf(stderr, "\r\033[K");
    /* in the table, errors go to stderr: stdout holds only what was done */
    FILE *to = (outcome == FAILED || !line) && !r->opt->json ? stderr : stdout;
    fputs(line ? line : "error: out of memory", to);
    fputc('\n', to);
    fflush(to);
    r->counts[outcome]++;
    free(line);
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: faceup fix [options] (-o OUTDIR | --in-place | --dry-run) FILE|DIR...\n"
            "\n"
            "Hand images back upright. An image of orientation N clockwise (what `faceup detect`\n"
            "finds) is rotated N counter-clockwise as displayed; its EXIF Orientation is baked\n"
            "into the same single transform and the tag set to 1. JPEGs are rotated without loss\n"
            "when their size allows (else re-encoded (lossy) with their own quantisation tables),\n"
            "PNG and lossless WebP exactly, lossy WebP re-encoded (lossy) at its own quality,\n"
            "HEIC and AVIF always re-encoded (lossy, quality 90, the container's rotation baked\n"
            "in); each line says which. EXIF, ICC, XMP and comments are kept. Undecided images are\n"
            "left as they are. Errors go to stderr (to stdout, in \"error\", with --json).\n"
            "\n"
            "  -o, --output DIR        write the images under DIR: a FILE as DIR/its name, the\n"
            "                          images of a folder at their paths relative to it\n"
            "      --in-place          replace the inputs that change (atomically), keeping\n"
            "                          their owner; a file with hard links, or whose owner\n"
            "                          cannot be kept, is refused\n"
            "      --force             with --in-place, replace those anyway: the file becomes\n"
            "                          yours, and only the name given gets the new image\n"
            "  -n, --dry-run           only report what would change\n"
            "  -r, --recursive         walk folders (.jpg .jpeg .jpe .png .webp .heic .heif .hif\n"
            "                          .avif files; hidden entries and symbolic links skipped)\n"
            "  -j, --jobs N            images fixed in parallel (default: number of CPUs)\n"
            "      --min-confidence X  turn only when the decision's confidence is at least X\n"
            "                          (default 0.5)\n"
            "      --orientation A     do not detect: every input is of orientation A clockwise\n"
            "                          as displayed (0, 90, 180 or 270) and is rotated A\n"
            "                          counter-clockwise\n"
            "      --exif keep|bake    an image upright as displayed only thanks to its EXIF\n"
            "                          Orientation tag: keep leaves it as it is (the default);\n"
            "                          bake moves the tag's turn into the pixels and sets the\n"
            "                          tag to 1, for viewers that ignore it (its line says when\n"
            "                          that is a re-encode (lossy)). A rotated image always has\n"
            "                          its tag baked in\n"
            "      --lossless-only     never re-encode: an image that cannot be turned without\n"
            "                          it (a JPEG of partial MCUs, lossy WebP, HEIC, AVIF) is left\n"
            "                          as it is, not written, and reported as needs_reencode\n"
            "                          (exit 3)\n"
            "      --format F          write every image as F: jpeg, png, webp, heic, avif, or\n"
            "                          same (the input's, the default); with -o only, named\n"
            "                          .jpg .png .webp .heic .avif. Always a re-encode\n"
            "      --strip-metadata    drop EXIF, ICC profiles, XMP, comments and text\n"
            "      --json              one JSON object per input on stdout: the `detect --json`\n"
            "                          fields plus action, rotated_ccw, exif_baked, method,\n"
            "                          dry_run, output (see faceup(1))\n"
            "      --max-pixels N      refuse images over N pixels (default 100000000)\n"
            "      --max-bytes N       refuse files over N bytes (default 268435456)\n"
            "      --max-memory BYTES  refuse an image whose decode or turn would hold more\n"
            "                          than BYTES for its pixels, estimated from the header,\n"
            "                          per job (default 1073741824, at least 1048576)\n"
            "  -h, --help              this help\n"
            "\n"
            "Files are never half-written: a temporary file beside the target, with no name\n"
            "while it is written where the file system allows (O_TMPFILE), is fsync'ed and\n"
            "renamed over it, keeping its permissions; a killed run leaves no temporary file.\n"
            "Read-only files are not replaced. Ctrl-C finishes the files in hand and stops.\n"
            "\n"
            "Exit status: 0 every input was handled, 1 some failed, 2 usage, 3 none failed but\n"
            "--lossless-only left some as they were, 130/143 stopped by SIGINT/SIGTERM.\n");
}

static int parse_format(const char *s, faceup_format *out)
{
    static const char *const names[] = {"same", "jpeg", "png", "webp", "heic", "avif"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i]) || (i == FACEUP_FORMAT_JPEG && !strcmp(s, "jpg"))) {
            *out = (faceup_format)i;
            return 0;
        }
    return -1;
}

/* What the options say together: one place for the results, and what goes with what. */
static int check_options(const options *o)
{
    if (o->format != FACEUP_FORMAT_SAME && o->in_place)
        return fprintf(stderr, "faceup fix: --format changes what a file is, not only how it is "
                               "turned: use -o DIR, not --in-place\n"), -1;
    if (o->force && !o->in_place)
        return fprintf(stderr, "faceup fix: --force goes with --in-place\n"), -1;
    if (!!o->outdir + o->in_place + o->dry_run != 1)
        return fprintf(stderr, "faceup fix: say where the results go: exactly one of -o DIR, "
                               "--in-place, --dry-run\n"), -1;
    return 0;
}

static int parse_options(int argc, char **argv, options *o, int *recursive, long long *jobs)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},   {"in-place", no_argument, NULL, 'I'},
        {"dry-run", no_argument, NULL, 'n'},        {"recursive", no_argument, NULL, 'r'},
        {"jobs", required_argument, NULL, 'j'},     {"min-confidence", required_argument, NULL, 'C'},
        {"strip-metadata", no_argument, NULL, 'S'}, {"json", no_argument, NULL, 'J'},
        {"max-pixels", required_argument, NULL, 'P'}, {"max-bytes", required_argument, NULL, 'B'},
        {"max-memory", required_argument, NULL, 'M'},
        {"force", no_argument, NULL, 'F'},          {"orientation", required_argument, NULL, 'O'},
        {"lossless-only", no_argument, NULL, 'L'},  {"format", required_argument, NULL, 'T'},
        {"exif", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:nrj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->outdir = optarg; break;
        case 'I': o->in_place = 1; break;
        case 'n': o->dry_run = 1; break;
        case 'r': *recursive = 1; break;
        case 'S': o->keep_metadata = 0; break;
        case 'J': o->json = 1; break;
        case 'F': o->force = 1; break;
        case 'L': o->lossless_only = 1; break;
        case 'E':
            if (strcmp(optarg, "keep") && strcmp(optarg, "bake"))
                return fprintf(stderr, "faceup fix: --exif wants keep or bake\n"), -1;
            o->exif_bake = !strcmp(optarg, "bake");
            break;
        case 'T':
            if (parse_format(optarg, &o->format))
                return fprintf(stderr, "faceup fix: --format wants jpeg, png, webp, heic, avif or same\n"), -1;
            break;
        case 'O': {
            long long v;
            if (cli_parse_int(optarg, 0, 270, &v) || v % 90)
                return fprintf(stderr, "faceup fix: --orientation wants 0, 90, 180 or 270\n"), -1;
            o->orientation = (int)v;
            break;
        }
        case 'j':
            if (cli_parse_int(optarg, 1, MAX_JOBS, jobs))
                return fprintf(stderr, "faceup fix: -j wants a number from 1 to %d\n", MAX_JOBS), -1;
            break;
        case 'C':
            if (cli_parse_unit(optarg, &o->min_confidence))
                return fprintf(stderr, "faceup fix: --min-confidence wants a number in [0, 1]\n"),
                       -1;
            break;
        case 'P':
            if (cli_parse_int(optarg, 1, 4000000000000LL, &o->max_pixels))
                return fprintf(stderr, "faceup fix: --max-pixels wants a positive number\n"), -1;
            break;
        case 'B':
            if (cli_parse_int(optarg, 1, 1000000000000000LL, &o->max_bytes))
                return fprintf(stderr, "faceup fix: --max-bytes wants a positive number\n"), -1;
            break;
        case 'M':
            if (cli_parse_int(optarg, 1 << 20, 1000000000000000LL, &o->max_memory))
                return fprintf(stderr, "faceup fix: --max-memory wants a number of bytes, at "
                                       "least 1048576\n"), -1;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind >= argc)
        return fprintf(stderr, "faceup fix: no input files\n"), usage(stderr), -1;
    return check_options(o);
}


/* The list of inputs, with OUTDIR made first (and never walked into). 0, or the exit status. */
static int gather(const options *opt, char **args, int n, int recursive, list *in)
{
    struct stat ost;
    if (opt->outdir) {
        char probe[PATH_MAX];
        snprintf(probe, sizeof probe, "%s/x", opt->outdir);
        if (mkdirs(probe) != 0) {
            fprintf(stderr, "faceup fix: cannot create %s: %s\n", opt->outdir, strerror(errno));
            return 1;
        }
        int bad = stat(opt->outdir, &ost) != 0;
        if (bad || !S_ISDIR(ost.st_mode)) {
            fprintf(stderr, "faceup fix: %s: %s\n", opt->outdir,
                    bad ? strerror(errno) : "not a folder");
            return 1;
        }
        in->have_out = 1;
        in->out_dev = ost.st_dev;
        in->out_ino = ost.st_ino;
    }
    if (list_inputs(in, args, n, recursive) < 0 ||
        (opt->outdir && (rename_outputs(in, opt->format) < 0 || refuse_collisions(in) < 0))) {
        fprintf(stderr, "faceup fix: out of memory\n");
        return 1;
    }
    return 0;
}

static void summary(const options *opt, const run *r, int n, double dt, int sig)
{
    const int *counts = r->counts;
    fprintf(stderr, "faceup fix: %d %s, ", counts[ROTATED], opt->dry_run ? "to rotate" : "rotated");
    if (counts[EXIF_BAKED])
        fprintf(stderr, "%d with the EXIF Orientation %s, ", counts[EXIF_BAKED],
                opt->dry_run ? "to bake in" : "baked in");
    fprintf(stderr, "%d already upright, %d undecided, %d errors", counts[UPRIGHT],
            counts[UNDECIDED], counts[FAILED]);
    if (counts[LOSSY])
        fprintf(stderr, ", %d left as they were (fixing them needs a re-encode)", counts[LOSSY]);
    if (counts[SKIPPED] || sig) /* a signal after the last file still says it came */
        fprintf(stderr, ", %d not done (stopped)", counts[SKIPPED]);
    fprintf(stderr, " (%d files, %.1f s)\n", n, dt);
}

int cli_fix(int argc, char **argv)
{
    cli_defaults d;
    if (cli_library_defaults("fix", &d) != 0)
        return 1;
    options opt = {.keep_metadata = 1, .orientation = -1, .min_confidence = d.min_confidence,
                   .max_pixels = d.max_pixels, .max_bytes = d.max_bytes,
                   .max_memory = d.max_memory};
    int recursive = 0;
    long long jobs = cli_ncpu();
    int rc = parse_options(argc, argv, &opt, &recursive, &jobs);
    if (rc)
        return rc > 0 ? 0 : 2;

    list in = {0};
    if ((rc = gather(&opt, argv + optind, argc - optind, recursive, &in)) != 0)
        return rc;
    run r = {.opt = &opt, .in = &in, .tty = isatty(STDERR_FILENO), .t0 = now()};
    catch_signals();
    cli_batch b = {.n = in.n, .jobs = (int)jobs, .ctx = &r, .open = open_handle,
                   .close = close_handle, .run = run_one, .emit = emit, .idle = progress,
                   .stop = &stop_signal};
    int emitted = cli_batch_run(&b);
    if (emitted < 0) {
        fprintf(stderr, "faceup fix: out of memory\n");
        return 1;
    }
    r.counts[SKIPPED] += in.n - emitted;
    if (r.tty)
        fprintf(stderr, "\r\033[K");
    int sig = stop_signal; /* read once: the summary and the status tell the same story */
    summary(&opt, &r, in.n, now() - r.t0, sig);
    for (int i = 0; i < in.n; i++) {
        free(in.v[i].path);
        free(in.v[i].rel);
        free(in.v[i].error);
    }
    free(in.v);
    if (sig)
        return 128 + sig;
    return r.counts[FAILED] ? 1 : r.counts[LOSSY] ? 3 : 0;
}
