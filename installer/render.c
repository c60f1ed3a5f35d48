/* render: see render.h */
