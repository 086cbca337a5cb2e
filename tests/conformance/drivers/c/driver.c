/*
 * The C conformance driver: compiled with gcc against an installed copy of iotsec.h and
 * libiotsec.so (include/ and lib/ of a fresh prefix), public API only. tests/conformance/run.py
 * reads what it prints (one JSON object per line); the protocol is in tests/conformance/README.md.
 * C has no JSON library, so a small reader/writer is part of this file (numbers keep their
 * literal text, so bodies round-trip exactly).
 *
 *   driver snippet CONNECTION_STRING BODY_FILE   (CA and port from IOTSEC_CA_FILE / IOTSEC_MQTT_PORT)
 *   driver wire VECTORS_DIR CA_FILE PORT
 *   driver schema VECTORS_DIR
 *   driver bad CA_FILE PORT INVALID_BODY_FILE WRONG_CA_FILE HUB_CA_FILE HUB_PORT HUB_FORGED_CONNECTION_STRING
 *
 * Build: gcc -std=c11 -DIOTSEC_GUIDE_C='"<repo>/tests/guide/c.c"' driver.c -Iinclude -Llib -liotsec -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iotsec.h"

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/* ------------------------------------------------------------------ growable text buffer */

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void buf_put(buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* ------------------------------------------------------------------ JSON reader */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jv {
    jtype t;
    bool b;
    char *s; /* J_STR (UTF-8, may hold NUL: see n) and J_NUM (literal text) */
    size_t n; /* J_STR: byte length; J_ARR / J_OBJ: number of items */
    struct jv **items;
    char **keys; /* J_OBJ */
} jv;

typedef struct {
    const char *s;
    size_t i, len;
} jparser;

static void jfail(jparser *p, const char *what) {
    fprintf(stderr, "JSON: %s at %zu\n", what, p->i);
    exit(3);
}

static void jws(jparser *p) {
    while (p->i < p->len && strchr(" \t\r\n", p->s[p->i]) && p->s[p->i]) p->i++;
}

static void put_utf8(buf *b, uint32_t cp) {
    char out[4];
    size_t n;
    if (cp < 0x80) { out[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) { out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
    else { out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
    buf_put(b, out, n);
}

static uint32_t hex4(jparser *p) {
    if (p->i + 4 > p->len) jfail(p, "short \\u escape");
    char tmp[5] = {0};
    memcpy(tmp, p->s + p->i, 4);
    p->i += 4;
    return (uint32_t)strtoul(tmp, NULL, 16);
}

static jv *jnew(jtype t) {
    jv *v = calloc(1, sizeof *v);
    if (!v) abort();
    v->t = t;
    return v;
}

static jv *jstring(jparser *p) {
    if (p->s[p->i++] != '"') jfail(p, "string expected");
    buf b = {0};
    buf_put(&b, "", 0);
    for (;;) {
        if (p->i >= p->len) jfail(p, "unterminated string");
        char c = p->s[p->i++];
        if (c == '"') break;
        if (c != '\\') { buf_put(&b, &c, 1); continue; }
        char e = p->s[p->i++];
        switch (e) {
        case 'n': buf_put(&b, "\n", 1); break;
        case 't': buf_put(&b, "\t", 1); break;
        case 'r': buf_put(&b, "\r", 1); break;
        case 'b': buf_put(&b, "\b", 1); break;
        case 'f': buf_put(&b, "\f", 1); break;
        case 'u': {
            uint32_t cp = hex4(p);
            if (cp >= 0xD800 && cp < 0xDC00 && p->i + 1 < p->len && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
                size_t save = p->i;
                p->i += 2;
                uint32_t lo = hex4(p);
                if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else p->i = save;
            }
            put_utf8(&b, cp);
            break;
        }
        default: buf_put(&b, &e, 1);
        }
    }
    jv *v = jnew(J_STR);
    v->s = b.p;
    v->n = b.len;
    return v;
}

static jv *jvalue(jparser *p) {
    jws(p);
    if (p->i >= p->len) jfail(p, "end of text");
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        jv *v = jnew(obj ? J_OBJ : J_ARR);
        p->i++;
        jws(p);
        if (p->s[p->i] == (obj ? '}' : ']')) { p->i++; return v; }
        for (;;) {
            v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
            if (obj) {
                jws(p);
                jv *k = jstring(p);
                v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
                v->keys[v->n] = k->s;
                free(k);
                jws(p);
                if (p->s[p->i++] != ':') jfail(p, "':' expected");
            }
            v->items[v->n++] = jvalue(p);
            jws(p);
            char d = p->s[p->i++];
            if (d == (obj ? '}' : ']')) return v;
            if (d != ',') jfail(p, "',' expected");
        }
    }
    if (c == '"') return jstring(p);
    if (!strncmp(p->s + p->i, "true", 4)) { p->i += 4; jv *v = jnew(J_BOOL); v->b = true; return v; }
    if (!strncmp(p->s + p->i, "false", 5)) { p->i += 5; return jnew(J_BOOL); }
    if (!strncmp(p->s + p->i, "null", 4)) { p->i += 4; return jnew(J_NULL); }
    size_t start = p->i;
    while (p->i < p->len && p->s[p->i] && strchr("+-0123456789.eE", p->s[p->i])) p->i++;
    if (start == p->i) jfail(p, "unexpected character");
    jv *v = jnew(J_NUM);
    v->s = strndup(p->s + start, p->i - start);
    return v;
}

static jv *jparse(const char *text, size_t len) {
    jparser p = {text, 0, len};
    jv *v = jvalue(&p);
    jws(&p);
    if (p.i != len) jfail(&p, "trailing text");
    return v;
}

static jv *jget(const jv *o, const char *key) {
    if (!o || o->t != J_OBJ) return NULL;
    for (size_t i = o->n; i-- > 0;)
        if (!strcmp(o->keys[i], key)) return o->items[i];
    return NULL;
}

static const char *jstr(const jv *o, const char *key) {
    jv *v = jget(o, key);
    return v && v->t == J_STR ? v->s : NULL;
}

static void jfree(jv *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n && (v->t == J_ARR || v->t == J_OBJ); i++) {
        jfree(v->items[i]);
        if (v->t == J_OBJ) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    free(v);
}

/* ------------------------------------------------------------------ JSON writer */

static void jw_string(buf *b, const char *s, size_t n) {
    buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; buf_put(b, e, 2); }
        else if (c < 0x20) { char e[8]; snprintf(e, sizeof e, "\\u%04x", c); buf_puts(b, e); }
        else buf_put(b, (const char *)&c, 1);
    }
    buf_put(b, "\"", 1);
}

static void jw_cstr(buf *b, const char *s) {
    if (s) jw_string(b, s, strlen(s));
    else buf_puts(b, "null");
}

static void jw_value(buf *b, const jv *v) {
    switch (v->t) {
    case J_NULL: buf_puts(b, "null"); break;
    case J_BOOL: buf_puts(b, v->b ? "true" : "false"); break;
    case J_NUM: buf_puts(b, v->s); break;
    case J_STR: jw_string(b, v->s, v->n); break;
    case J_ARR:
    case J_OBJ:
        buf_puts(b, v->t == J_OBJ ? "{" : "[");
        for (size_t i = 0; i < v->n; i++) {
            if (i) buf_puts(b, ",");
            if (v->t == J_OBJ) { jw_cstr(b, v->keys[i]); buf_puts(b, ":"); }
            jw_value(b, v->items[i]);
        }
        buf_puts(b, v->t == J_OBJ ? "}" : "]");
    }
}

static void emit(buf *b) {
    fwrite(b->p, 1, b->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(b->p);
}

/* ------------------------------------------------------------------ helpers */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(3); }
    buf b = {0};
    buf_put(&b, "", 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
    fclose(f);
    if (len) *len = b.len;
    return b.p;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The *.json files of a folder, sorted by name. */
static size_t json_files(const char *dir, char ***out) {
    DIR *d = opendir(dir);
    if (!d) { perror(dir); exit(3); }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json")) {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static jv *load(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *text = read_file(path, &len);
    jv *doc = jparse(text, len);
    free(text);
    return doc;
}

static const char *last_kind(void) {
    iotsec_status k = iotsec_last_error_kind();
    return k == 0 ? NULL : iotsec_error_kind_name(k);
}

static const unsigned char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static unsigned char *b64decode(const char *s, size_t *out_len) {
    size_t n = strlen(s);
    unsigned char *out = malloc(n / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *q = (const unsigned char *)strchr((const char *)B64, s[i]);
        if (s[i] == '=' || !q || !s[i]) continue;
        acc = (acc << 6) | (uint32_t)(q - B64);
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (unsigned char)(acc >> bits); }
    }
    *out_len = o;
    return out;
}

static void connection_string(char *out, size_t size, const char *device, const char *module) {
    if (module) snprintf(out, size, "HostName=localhost;DeviceId=%s;ModuleId=%s;SharedAccessKey=" KEY, device, module);
    else snprintf(out, size, "HostName=localhost;DeviceId=%s;SharedAccessKey=" KEY, device);
}

/* ------------------------------------------------------------------ the guide's snippet */

/* What the guide leaves to its reader (tests/guide/README.md): the adapter struct and a forward
 * declaration of its callback. To learn the outcome (the guide's callback only has comments),
 * the guide's call to IoTHubModuleClient_SendEventAsync goes through a pass-through shim that
 * calls the guide's callback with the guide's context, then records the result. */
typedef struct {
    IOTHUB_MODULE_CLIENT_HANDLE moduleHandle;
} IoTHubAdapter;
static void SendConfirmCallback(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *userContextCallback);

static pthread_mutex_t outcome_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t outcome_cond = PTHREAD_COND_INITIALIZER;
static int outcome_count;
static IOTHUB_CLIENT_CONFIRMATION_RESULT outcome_result;

typedef struct {
    IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK callback;
    void *context;
} forwarded_call;

static void observe_confirmation(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *shim_context) {
    forwarded_call *call = shim_context;
    call->callback(result, call->context);
    free(call);
    pthread_mutex_lock(&outcome_lock);
    outcome_result = result;
    outcome_count++;
    pthread_cond_broadcast(&outcome_cond);
    pthread_mutex_unlock(&outcome_lock);
}

static IOTHUB_CLIENT_RESULT observed_SendEventAsync(IOTHUB_MODULE_CLIENT_HANDLE handle, IOTHUB_MESSAGE_HANDLE message,
                                                    IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK callback, void *context) {
    forwarded_call *call = malloc(sizeof *call);
    call->callback = callback;
    call->context = context;
    IOTHUB_CLIENT_RESULT r = IoTHubModuleClient_SendEventAsync(handle, message, observe_confirmation, call);
    if (r != IOTHUB_CLIENT_OK) free(call);
    return r;
}

#define IoTHubModuleClient_SendEventAsync observed_SendEventAsync
#include IOTSEC_GUIDE_C
#undef IoTHubModuleClient_SendEventAsync

static void snippet_result(bool ok, const char *error, const char *message) {
    buf b = {0};
    buf_puts(&b, "{\"check\":\"snippet\",\"ok\":");
    buf_puts(&b, ok ? "true" : "false");
    if (!ok) {
        buf_puts(&b, ",\"error\":");
        jw_cstr(&b, error);
        buf_puts(&b, ",\"message\":");
        jw_cstr(&b, message);
    }
    buf_puts(&b, "}");
    emit(&b);
}

static void snippet(const char *cs, const char *body_file) {
    size_t len;
    char *body = read_file(body_file, &len);
    IoTHub_Init();
    IoTHubAdapter adapter;
    adapter.moduleHandle = IoTHubModuleClient_CreateFromConnectionString(cs, MQTT_Protocol);
    if (adapter.moduleHandle == NULL) {
        snippet_result(false, last_kind(), iotsec_last_error_message());
    } else if (!SendMessageAsync(&adapter, body, len)) {
        snippet_result(false, "SEND_FAILED", "SendMessageAsync returned false");
    } else {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 60;
        pthread_mutex_lock(&outcome_lock);
        while (outcome_count == 0 && pthread_cond_timedwait(&outcome_cond, &outcome_lock, &deadline) == 0) {
        }
        int count = outcome_count;
        IOTHUB_CLIENT_CONFIRMATION_RESULT result = outcome_result;
        pthread_mutex_unlock(&outcome_lock);
        if (count == 0) snippet_result(false, "DRIVER_TIMEOUT", "no confirmation within 60 s");
        else if (result != IOTHUB_CLIENT_CONFIRMATION_OK) snippet_result(false, "CONFIRMATION_ERROR", "the confirmation was not OK");
        else snippet_result(true, NULL, NULL);
    }
    if (adapter.moduleHandle) IoTHubModuleClient_Destroy(adapter.moduleHandle);
    IoTHub_Deinit();
    free(body);
}

/* ------------------------------------------------------------------ wire vectors */

static IOTHUB_MESSAGE_HANDLE build_message(const jv *v) {
    unsigned char *body;
    size_t len;
    const jv *repeat = jget(v, "body_repeat");
    if (jget(v, "body_text")) {
        const jv *t = jget(v, "body_text");
        body = malloc(t->n + 1);
        memcpy(body, t->s, t->n);
        len = t->n;
    } else if (jget(v, "body_base64")) {
        body = b64decode(jstr(v, "body_base64"), &len);
    } else {
        const jv *text = jget(repeat, "text");
        long count = strtol(jget(repeat, "count")->s, NULL, 10);
        len = text->n * (size_t)count;
        body = malloc(len + 1);
        for (long i = 0; i < count; i++) memcpy(body + (size_t)i * text->n, text->s, text->n);
    }
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray(body, len);
    free(body);
    const char *s;
    if ((s = jstr(v, "message_id"))) IoTHubMessage_SetMessageId(m, s);
    if ((s = jstr(v, "correlation_id"))) IoTHubMessage_SetCorrelationId(m, s);
    if ((s = jstr(v, "user_id"))) IoTHubMessage_SetMessageUserIdSystemProperty(m, s);
    if ((s = jstr(v, "content_type"))) IoTHubMessage_SetContentTypeSystemProperty(m, s);
    if ((s = jstr(v, "content_encoding"))) IoTHubMessage_SetContentEncodingSystemProperty(m, s);
    if ((s = jstr(v, "output_name"))) IoTHubMessage_SetOutputName(m, s);
    /* No SDK setter for these: iotsec's own, by name. */
    const char *native[] = {"to", "expiry_time_utc", "interface_id", "component_name"};
    for (size_t i = 0; i < sizeof native / sizeof *native; i++)
        if ((s = jstr(v, native[i]))) iotsec_message_set_system_property(m, native[i], s);
    const jv *sec = jget(v, "security");
    if (sec && sec->t == J_BOOL && sec->b) IoTHubMessage_SetAsSecurityMessage(m);
    const jv *props = jget(v, "properties");
    for (size_t i = 0; props && i < props->n; i++) IoTHubMessage_SetProperty(m, props->items[i]->items[0]->s, props->items[i]->items[1]->s);
    return m;
}

typedef struct {
    char *key;
    IOTHUB_CLIENT_CORE_HANDLE handle;
} client_entry;

static void emit_case(const char *name, const char *error, const char *message) {
    buf b = {0};
    buf_puts(&b, "{\"name\":");
    jw_cstr(&b, name);
    if (error) {
        buf_puts(&b, ",\"error\":");
        jw_cstr(&b, error);
        buf_puts(&b, ",\"message\":");
        jw_cstr(&b, message);
    } else {
        buf_puts(&b, ",\"result\":\"sent\"");
    }
    buf_puts(&b, "}");
    emit(&b);
}

static void wire(const char *dir, const char *ca, const char *port) {
    char **files;
    size_t nfiles = json_files(dir, &files);
    client_entry *clients = NULL;
    size_t nclients = 0;
    for (size_t f = 0; f < nfiles; f++) {
        jv *doc = load(dir, files[f]);
        const jv *cases = jget(doc, "cases");
        for (size_t c = 0; c < cases->n; c++) {
            const jv *k = cases->items[c];
            const char *name = jstr(k, "name"), *device = jstr(k, "device_id"), *module = jstr(k, "module_id");
            char key[1024], cs[2048];
            snprintf(key, sizeof key, "%s\n%s", device, module ? module : "");
            IOTHUB_CLIENT_CORE_HANDLE h = NULL;
            for (size_t i = 0; i < nclients; i++)
                if (!strcmp(clients[i].key, key)) h = clients[i].handle;
            if (!h) {
                connection_string(cs, sizeof cs, device, module);
                h = module ? IoTHubModuleClient_CreateFromConnectionString(cs, MQTT_Protocol)
                           : IoTHubDeviceClient_CreateFromConnectionString(cs, MQTT_Protocol);
                if (!h) { emit_case(name, last_kind(), iotsec_last_error_message()); continue; }
                /* Validation off: the wire vectors are about topics and bytes. */
                iotsec_client_set_option(h, "ca_file", ca);
                iotsec_client_set_option(h, "port", port);
                iotsec_client_set_option(h, "validation", "off");
                clients = realloc(clients, (nclients + 1) * sizeof *clients);
                clients[nclients].key = strdup(key);
                clients[nclients++].handle = h;
            }
            IOTHUB_MESSAGE_HANDLE m = build_message(jget(k, "message"));
            if (iotsec_client_send(h, m) == IOTSEC_OK) emit_case(name, NULL, NULL);
            else emit_case(name, last_kind(), iotsec_last_error_message());
            IoTHubMessage_Destroy(m);
        }
        jfree(doc);
        free(files[f]);
    }
    free(files);
    for (size_t i = 0; i < nclients; i++) {
        iotsec_client_destroy(clients[i].handle);
        free(clients[i].key);
    }
    free(clients);
}

/* ------------------------------------------------------------------ schema vectors */

/* [[pointer, rule(, [offset, line, column])], ...] from iotsec's violation JSON. */
static void write_violations(buf *b, const char *json, bool with_position) {
    jv *list = jparse(json, strlen(json));
    buf_puts(b, "[");
    for (size_t i = 0; i < list->n; i++) {
        const jv *v = list->items[i];
        if (i) buf_puts(b, ",");
        buf_puts(b, "[");
        jw_cstr(b, jstr(v, "pointer"));
        buf_puts(b, ",");
        jw_cstr(b, jstr(v, "rule"));
        const jv *pos = jget(v, "position");
        if (with_position && pos && pos->t == J_OBJ) {
            buf_puts(b, ",[");
            jw_value(b, jget(pos, "offset"));
            buf_puts(b, ",");
            jw_value(b, jget(pos, "line"));
            buf_puts(b, ",");
            jw_value(b, jget(pos, "column"));
            buf_puts(b, "]");
        }
        buf_puts(b, "]");
    }
    buf_puts(b, "]");
    jfree(list);
}

static void schema(const char *dir) {
    char **files;
    size_t nfiles = json_files(dir, &files);
    for (size_t f = 0; f < nfiles; f++) {
        jv *doc = load(dir, files[f]);
        const jv *cases = jget(doc, "cases");
        for (size_t c = 0; c < cases->n; c++) {
            const jv *k = cases->items[c];
            unsigned char *body;
            size_t len;
            if (jget(k, "body")) {
                buf s = {0};
                jw_value(&s, jget(k, "body"));
                body = (unsigned char *)s.p;
                len = s.len;
            } else if (jget(k, "body_text")) {
                const jv *t = jget(k, "body_text");
                body = malloc(t->n + 1);
                memcpy(body, t->s, t->n);
                len = t->n;
            } else {
                body = b64decode(jstr(k, "body_base64"), &len);
            }
            char *violations = iotsec_validate(body, len);
            int32_t valid = iotsec_is_valid(body, len);
            buf b = {0};
            buf_puts(&b, "{\"file\":");
            jw_cstr(&b, files[f]);
            buf_puts(&b, ",\"name\":");
            jw_cstr(&b, jstr(k, "name"));
            buf_puts(&b, ",\"is_valid\":");
            buf_puts(&b, valid == 1 ? "true" : valid == 0 ? "false" : "null");
            buf_puts(&b, ",\"violations\":");
            if (violations) write_violations(&b, violations, true);
            else buf_puts(&b, "null");
            buf_puts(&b, "}");
            emit(&b);
            iotsec_string_free(violations);
            free(body);
        }
        jfree(doc);
        free(files[f]);
    }
    free(files);
}

/* ------------------------------------------------------------------ bad input */

static const char *result_name(IOTHUB_CLIENT_RESULT r) {
    switch (r) {
    case IOTHUB_CLIENT_OK: return "IOTHUB_CLIENT_OK";
    case IOTHUB_CLIENT_INVALID_ARG: return "IOTHUB_CLIENT_INVALID_ARG";
    case IOTHUB_CLIENT_ERROR: return "IOTHUB_CLIENT_ERROR";
    case IOTHUB_CLIENT_INVALID_SIZE: return "IOTHUB_CLIENT_INVALID_SIZE";
    case IOTHUB_CLIENT_INDEFINITE_TIME: return "IOTHUB_CLIENT_INDEFINITE_TIME";
    }
    return "?";
}

static void emit_outcome(const char *check, const char *error, const char *message, const char *violations_json,
                         const char *sdk_result) {
    buf b = {0};
    buf_puts(&b, "{\"check\":");
    jw_cstr(&b, check);
    if (sdk_result) {
        buf_puts(&b, ",\"sdk_result\":");
        jw_cstr(&b, sdk_result);
    }
    buf_puts(&b, ",\"error\":");
    jw_cstr(&b, error);
    if (error) {
        buf_puts(&b, ",\"message\":");
        jw_cstr(&b, message);
        buf_puts(&b, ",\"violations\":");
        if (violations_json && *violations_json) write_violations(&b, violations_json, false);
        else buf_puts(&b, "[]");
    }
    buf_puts(&b, "}");
    emit(&b);
}

static void create_outcome(const char *check, const char *cs) {
    IOTHUB_DEVICE_CLIENT_HANDLE h = IoTHubDeviceClient_CreateFromConnectionString(cs, MQTT_Protocol);
    if (h) {
        emit_outcome(check, NULL, NULL, NULL, NULL);
        IoTHubDeviceClient_Destroy(h);
    } else {
        emit_outcome(check, last_kind(), iotsec_last_error_message(), NULL, NULL);
    }
}

static void send_outcome(const char *check, IOTHUB_DEVICE_CLIENT_HANDLE h, IOTHUB_MESSAGE_HANDLE m) {
    IOTHUB_CLIENT_RESULT r = IoTHubDeviceClient_SendEventAsync(h, m, NULL, NULL);
    if (r == IOTHUB_CLIENT_OK) {
        emit_outcome(check, NULL, NULL, NULL, result_name(r));
    } else {
        /* Copy the last error before anything else runs on this thread. */
        const char *kind = last_kind();
        char *message = strdup(iotsec_last_error_message() ? iotsec_last_error_message() : "");
        const char *vj = iotsec_last_error_violations_json();
        char *violations = strdup(vj ? vj : "");
        emit_outcome(check, kind, message, violations, result_name(r));
        free(message);
        free(violations);
    }
}

/* Connects (the native blocking call: the SDK names have no connect) and reports the kind. */
static void connect_outcome(const char *check, const char *cs, const char *ca, const char *port) {
    IOTHUB_DEVICE_CLIENT_HANDLE h = IoTHubDeviceClient_CreateFromConnectionString(cs, MQTT_Protocol);
    iotsec_client_set_option(h, "ca_file", ca);
    iotsec_client_set_option(h, "port", port);
    if (iotsec_client_connect(h) == IOTSEC_OK) emit_outcome(check, NULL, NULL, NULL, NULL);
    else emit_outcome(check, last_kind(), iotsec_last_error_message(), NULL, NULL);
    IoTHubDeviceClient_Destroy(h);
}

static void bad(const char *ca, const char *port, const char *invalid_body_file, const char *wrong_ca, const char *hub_ca,
                const char *hub_port, const char *forged) {
    char cs[1024];
    create_outcome("connection_string_without_device_id", "HostName=localhost;SharedAccessKey=QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=");
    create_outcome("connection_string_key_not_base64", "HostName=localhost;DeviceId=conf-bad;SharedAccessKey=not a key!");
    create_outcome("connection_string_garbage", "not a connection string");
    connection_string(cs, sizeof cs, "conf-bad", "m");
    create_outcome("module_connection_string_for_device_client", cs);

    connection_string(cs, sizeof cs, "conf-bad-c", NULL);
    IOTHUB_DEVICE_CLIENT_HANDLE h = IoTHubDeviceClient_CreateFromConnectionString(cs, MQTT_Protocol);
    iotsec_client_set_option(h, "ca_file", ca);
    iotsec_client_set_option(h, "port", port);
    size_t len;
    char *body = read_file(invalid_body_file, &len);
    IOTHUB_MESSAGE_HANDLE invalid = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, len);
    IoTHubMessage_SetAsSecurityMessage(invalid);
    send_outcome("schema_invalid_security_message", h, invalid);
    IoTHubMessage_Destroy(invalid);
    free(body);
    IoTHubDeviceClient_Destroy(h);
    IOTHUB_MESSAGE_HANDLE after = IoTHubMessage_CreateFromString("sent after close");
    send_outcome("send_after_close", h, after);
    IoTHubMessage_Destroy(after);

    connection_string(cs, sizeof cs, "conf-bad-c", NULL);
    connect_outcome("untrusted_server_certificate", cs, wrong_ca, port);
    connect_outcome("credential_refused_by_hub", forged, hub_ca, hub_port);
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "snippet")) snippet(argv[2], argv[3]);
    else if (argc >= 5 && !strcmp(argv[1], "wire")) wire(argv[2], argv[3], argv[4]);
    else if (argc >= 3 && !strcmp(argv[1], "schema")) schema(argv[2]);
    else if (argc >= 9 && !strcmp(argv[1], "bad")) bad(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], argv[8]);
    else {
        fprintf(stderr, "usage: driver snippet|wire|schema|bad ...\n");
        return 2;
    }
    iotsec_shutdown();
    return 0;
}
