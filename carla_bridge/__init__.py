"""carla_bridge: run adsgen scenarios on a real CARLA server. The only package that imports ``carla``."""
