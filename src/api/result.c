/*
 * result.c - results: their memory, and the one-line JSON object of `faceup detect --json`.
 */
#include <stdlib.h>

#include "api/handle.h"
#include "base/strbuf.h"

/* The faces right after the struct: one allocation, one free. */
faceup_result *fu_result_new(int n_faces)
{
    size_t head = sizeof(faceup_result);
    head = (head + _Alignof(faceup_face) - 1) / _Alignof(faceup_face) * _Alignof(faceup_face);
    faceup_result *r = calloc(1, head + (size_t)n_faces * sizeof(faceup_face));
    if (r && n_faces > 0) {
        r->faces = (faceup_face *)(void *)((char *)r + head);
        r->n_faces = n_faces;
    }
    return r;
}

void faceup_result_free(faceup_result *r)
{
    free(r);
}

static void orientation_json(fu_strbuf *b, int orientation)
{
    if (orientation == FACEUP_UNDECIDED)
        fu_strbuf_printf(b, "null");
    else
        fu_strbuf_printf(b, "%d", orientation);
}

static void face_json(fu_strbuf *b, const faceup_face *f)
{
    fu_strbuf_printf(b, "{\"box\":[");
    const float box[4] = {f->x, f->y, f->w, f->h};
    for (int i = 0; i < 4; i++) {
        fu_strbuf_printf(b, i ? "," : "");
        fu_strbuf_json_float(b, box[i], 1);
    }
    fu_strbuf_printf(b, "],\"score\":");
    fu_strbuf_json_float(b, f->score, 4);
    fu_strbuf_printf(b, ",\"landmarks\":[");
    for (int k = 0; k < 5; k++) {
        fu_strbuf_printf(b, k ? ",[" : "[");
        fu_strbuf_json_float(b, f->landmarks[k][0], 1);
        fu_strbuf_printf(b, ",");
        fu_strbuf_json_float(b, f->landmarks[k][1], 1);
        fu_strbuf_printf(b, "]");
    }
    fu_strbuf_printf(b, "],\"orientation\":");
    orientation_json(b, f->orientation);
    fu_strbuf_printf(b, ",\"confidence\":");
    fu_strbuf_json_float(b, f->confidence, 4);
    fu_strbuf_printf(b, ",\"roll\":");
    fu_strbuf_json_float(b, f->roll, 1);
    fu_strbuf_printf(b, ",\"turn_scores\":[");
    for (int k = 0; k < 4; k++) {
        fu_strbuf_printf(b, k ? "," : "");
        fu_strbuf_json_float(b, f->turn_scores[k], 4);
    }
    fu_strbuf_printf(b, "],\"turn_probs\":[");
    for (int k = 0; k < 4; k++) {
        fu_strbuf_printf(b, k ? "," : "");
        fu_strbuf_json_float(b, f->turn_probs[k], 4);
    }
    fu_strbuf_printf(b, "]}");
}

char *faceup_result_json(const faceup_result *r, const char *file, const char *error)
{
    fu_strbuf b = {0};
    fu_strbuf_printf(&b, "{");
    if (file) {
        fu_strbuf_printf(&b, "\"file\":");
        fu_strbuf_json_string(&b, file);
        fu_strbuf_printf(&b, ",");
    }
    if (!r) {
        fu_strbuf_printf(&b, "\"orientation\":null,\"confidence\":0,\"exif_orientation\":null,"
                             "\"faces\":[],\"error\":");
        fu_strbuf_json_string(&b, error ? error : "unknown error");
        fu_strbuf_printf(&b, "}");
        return fu_strbuf_take(&b);
    }
    fu_strbuf_printf(&b, "\"orientation\":");
    orientation_json(&b, r->orientation);
    fu_strbuf_printf(&b, ",\"confidence\":");
    fu_strbuf_json_float(&b, r->confidence, 4);
    fu_strbuf_printf(&b, ",\"exif_orientation\":");
    if (r->exif_orientation)
        fu_strbuf_printf(&b, "%d", r->exif_orientation);
    else
        fu_strbuf_printf(&b, "null");
    fu_strbuf_printf(&b, ",\"width\":%d,\"height\":%d,\"faces_disagree\":%s,\"faces\":[", r->width,
                     r->height, r->faces_disagree ? "true" : "false");
    for (int i = 0; i < r->n_faces; i++) {
        fu_strbuf_printf(&b, i ? "," : "");
        face_json(&b, &r->faces[i]);
    }
    fu_strbuf_printf(&b, "],\"error\":null}");
    return fu_strbuf_take(&b);
}
