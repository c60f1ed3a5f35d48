/* SPDX-License-Identifier: Apache-2.0 */
/* `list`: what the payload holds, as a table or JSON. */
#ifndef DY_LIST_H
#define DY_LIST_H

#include <stdio.h>

#include "../common/err.h"
#include "../verify/meta.h"

void dy_list_text(FILE *out, const struct dy_meta *m);
int dy_list_json(FILE *out, const struct dy_meta *m, struct dy_err *err);
/* Components and versions, then the default runtime the payload implies. */
void dy_list_versions(FILE *out, const struct dy_meta *m);

#endif
