/* SPDX-License-Identifier: Apache-2.0 */
#ifndef DY_VERSION_H
#define DY_VERSION_H
#define DY_VERSION "0.1.0"
#endif
