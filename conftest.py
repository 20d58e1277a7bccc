# Monkey-patch before anything imports sockets or threads (DESIGN §6): nameko needs a green world.
import eventlet

eventlet.monkey_patch()
