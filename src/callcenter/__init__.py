"""callcenter: a contact-centre backend for Asterisk.

Data flows one way: AMI -> bridge (callcenter.ami) -> ACD core
(callcenter.acd) -> store and hub (callcenter.realtime) -> browsers.
Actions go back to Asterisk through one gateway (callcenter.ami.gateway).
"""

__version__ = "0.1.0"
